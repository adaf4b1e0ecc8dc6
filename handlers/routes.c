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

/* A relayed API at /v1/<p> and /<p>. */
#define PROXY_ROUTE(p) \
	{ "/v1/" p, MATCH_EXACT, POST, AUTH_KEY, 0, h_proxy, p }, \
	{ "/" p, MATCH_EXACT, POST, AUTH_KEY, 0, h_proxy, p }

const struct route routes[] = {
	{ "/", MATCH_EXACT, GET, AUTH_NONE, 0, h_root, "root" },
	{ "/health", MATCH_EXACT, GET, AUTH_NONE, 0, h_health, "health" },
	{ "/v1/info", MATCH_EXACT, GET, AUTH_NONE, 0, h_info, "info" },
	{ "/v1/models", MATCH_EXACT, GET, AUTH_NONE, 0, h_models, "models" },
	{ "/v1/models/", MATCH_EXACT, GET, AUTH_NONE, 0, h_models, "models" },
	{ "/models", MATCH_EXACT, GET, AUTH_NONE, 0, h_models, "models" },
	{ "/models/", MATCH_EXACT, GET, AUTH_NONE, 0, h_models, "models" },
	/* Lightning deposits (before the balance catch-all) */
	{ "/v1/balance/lightning/invoice", MATCH_EXACT, POST, AUTH_NONE, 0, h_ln_invoice, "ln_invoice" },
	{ "/lightning/invoice", MATCH_EXACT, POST, AUTH_NONE, 0, h_ln_invoice, "ln_invoice" },
	{ "/v1/balance/lightning/invoice/", MATCH_PREFIX, GET, AUTH_NONE, 0, h_ln_status, "ln_status" },
	{ "/lightning/invoice/", MATCH_PREFIX, GET, AUTH_NONE, 0, h_ln_status, "ln_status" },
	{ "/v1/balance/lightning/recover", MATCH_EXACT, POST, AUTH_NONE, 0, h_ln_recover, "ln_recover" },
	{ "/lightning/recover", MATCH_EXACT, POST, AUTH_NONE, 0, h_ln_recover, "ln_recover" },
	BALANCE_ROUTES("/v1/balance"),
	BALANCE_ROUTES("/v1/wallet"),
	{ "/v1/models/paths", MATCH_EXACT, GET, AUTH_NONE, 0, h_model_paths, "model_paths" },
	{ "/v1/models/paths/", MATCH_EXACT, GET, AUTH_NONE, 0, h_model_paths, "model_paths" },
	{ "/v1/models/paths/model", MATCH_EXACT, GET, AUTH_NONE, 0, h_model_paths_model,
	    "model_paths" },
	{ "/v1/models/paths/model/", MATCH_EXACT, GET, AUTH_NONE, 0, h_model_paths_model,
	    "model_paths" },
	{ "/v1/models/", MATCH_PREFIX, GET, AUTH_NONE, 0, h_model_get, "model" },
	{ "/models/", MATCH_PREFIX, GET, AUTH_NONE, 0, h_model_get, "model" },
	/* Every API the relay engine knows (lib/relay/endpoints.c), with and
	 * without /v1, then any other POST under /v1/ as a passthrough. */
	PROXY_ROUTE("chat/completions"),
	PROXY_ROUTE("completions"),
	PROXY_ROUTE("embeddings"),
	PROXY_ROUTE("moderations"),
	PROXY_ROUTE("responses"),
	PROXY_ROUTE("messages"),
	PROXY_ROUTE("messages/count_tokens"),
	PROXY_ROUTE("images/generations"),
	PROXY_ROUTE("images/edits"),
	PROXY_ROUTE("images/variations"),
	PROXY_ROUTE("audio/transcriptions"),
	PROXY_ROUTE("audio/translations"),
	PROXY_ROUTE("audio/speech"),
	{ "/v1/", MATCH_FALLBACK, POST, AUTH_KEY, 0, h_proxy, "passthrough" },
};

const size_t routes_count = ARRAY_SIZE(routes);
