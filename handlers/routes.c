/* routes: the product's route table. The dispatcher (fcgi/http.c) enforces
 * methods and body limits declared here; order matters (first match wins). */
#include "config.h"

#include "handlers.h"
#include "router.h"
#include "util.h"

#define GET HTTP_M(HTTP_GET)
#define POST HTTP_M(HTTP_POST)
#define ANY (HTTP_M(HTTP_GET) | HTTP_M(HTTP_POST) | HTTP_M(HTTP_PUT) | HTTP_M(HTTP_DELETE) | \
    HTTP_M(HTTP_PATCH))

/* The balance routes, under /v1/balance/ and the deprecated /v1/wallet/. */
#define BALANCE_ROUTES(P) \
	{ P "/", MATCH_EXACT, GET, AUTH_KEY, 0, h_balance_info, "balance_info" }, \
	{ P "/info", MATCH_EXACT, GET, AUTH_KEY, 0, h_balance_info, "balance_info" }, \
	{ P "/create", MATCH_EXACT, GET | POST, AUTH_NONE, 0, h_balance_create, "balance_create" }, \
	{ P "/topup", MATCH_EXACT, POST, AUTH_KEY, 0, h_balance_topup, "balance_topup" }, \
	{ P "/refund", MATCH_EXACT, POST, AUTH_KEY, 0, h_balance_refund, "balance_refund" }, \
	{ P "/history", MATCH_EXACT, GET, AUTH_KEY, 0, h_balance_history, "balance_history" }, \
	{ P "/child-key", MATCH_EXACT, POST, AUTH_KEY, 0, h_balance_child_key, "child_key" }, \
	{ P "/child-key/reset", MATCH_EXACT, POST, AUTH_KEY, 0, h_balance_child_reset, \
	    "child_key_reset" }, \
	{ P "/", MATCH_PREFIX, ANY, AUTH_NONE, 0, h_balance_not_found, "balance_404" }

const struct route routes[] = {
	{ "/", MATCH_EXACT, GET, AUTH_NONE, 0, h_root, "root" },
	{ "/health", MATCH_EXACT, GET, AUTH_NONE, 0, h_health, "health" },
	{ "/v1/info", MATCH_EXACT, GET, AUTH_NONE, 0, h_info, "info" },
	{ "/v1/models", MATCH_EXACT, GET, AUTH_NONE, 0, h_models, "models" },
	{ "/v1/models/", MATCH_EXACT, GET, AUTH_NONE, 0, h_models, "models" },
	{ "/models", MATCH_EXACT, GET, AUTH_NONE, 0, h_models, "models" },
	{ "/models/", MATCH_EXACT, GET, AUTH_NONE, 0, h_models, "models" },
	BALANCE_ROUTES("/v1/balance"),
	BALANCE_ROUTES("/v1/wallet"),
	{ "/v1/chat/completions", MATCH_EXACT, POST, AUTH_KEY, 0, h_proxy_chat, "chat" },
	{ "/chat/completions", MATCH_EXACT, POST, AUTH_KEY, 0, h_proxy_chat, "chat" },
};

const size_t routes_count = ARRAY_SIZE(routes);
