/* routes: the product's route table. The dispatcher (fcgi/http.c) enforces
 * methods and body limits declared here; order matters (first match wins). */
#include "config.h"

#include "handlers.h"
#include "router.h"
#include "util.h"

#define GET HTTP_M(HTTP_GET)
#define POST HTTP_M(HTTP_POST)

const struct route routes[] = {
	{ "/", MATCH_EXACT, GET, AUTH_NONE, 0, h_root, "root" },
	{ "/health", MATCH_EXACT, GET, AUTH_NONE, 0, h_health, "health" },
	{ "/v1/info", MATCH_EXACT, GET, AUTH_NONE, 0, h_info, "info" },
	{ "/v1/chat/completions", MATCH_EXACT, POST, AUTH_KEY, 0, h_proxy_chat, "chat" },
	{ "/chat/completions", MATCH_EXACT, POST, AUTH_KEY, 0, h_proxy_chat, "chat" },
};

const size_t routes_count = ARRAY_SIZE(routes);
