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
	{ P "/", MATCH_EXACT, GET, AUTH_KEY, 0, h_balance_info, "balance_info", 0 }, \
	{ P "/info", MATCH_EXACT, GET, AUTH_KEY, 0, h_balance_info, "balance_info", 0 }, \
	{ P "/create", MATCH_EXACT, GET | POST, AUTH_NONE, 0, h_balance_create, "balance_create", 0 }, \
	{ P "/topup", MATCH_EXACT, POST, AUTH_KEY, 0, h_balance_topup, "balance_topup", 0 }, \
	{ P "/refund", MATCH_EXACT, POST, AUTH_KEY, 0, h_balance_refund, "balance_refund", 0 }, \
	{ P "/history", MATCH_EXACT, GET, AUTH_KEY, 0, h_balance_history, "balance_history", 0 }, \
	{ P "/child-key", MATCH_EXACT, POST, AUTH_KEY, 0, h_balance_child_key, "child_key", 0 }, \
	{ P "/child-key/reset", MATCH_EXACT, POST, AUTH_KEY, 0, h_balance_child_reset, \
	    "child_key_reset", 0 }, \
	{ P "/", MATCH_PREFIX, ANY, AUTH_NONE, 0, h_balance_not_found, "balance_404", 0 }

/* A relayed API at /v1/<p> and /<p>. */
#define PROXY_ROUTE(p) \
	{ "/v1/" p, MATCH_EXACT, POST, AUTH_KEY, 0, h_proxy, p, 0 }, \
	{ "/" p, MATCH_EXACT, POST, AUTH_KEY, 0, h_proxy, p, 0 }

/* The operator's dashboard: pages (ROUTE_PAGE) under /admin/. */
#define ADMIN_PAGE(path, m, h, name) \
	{ path, MATCH_EXACT, m, AUTH_ADMIN, 64 * 1024, h, name, ROUTE_PAGE }

#define ADMIN_API(path, m, h, name) \
	{ path, MATCH_EXACT, m, AUTH_ADMIN, 64 * 1024, h, name, 0 }
#define PATCH HTTP_M(HTTP_PATCH)
#define DELETE HTTP_M(HTTP_DELETE)

const struct route routes[] = {
	{ "/", MATCH_EXACT, GET, AUTH_NONE, 0, h_root, "root", 0 },
	{ "/health", MATCH_EXACT, GET, AUTH_NONE, 0, h_health, "health", 0 },
	{ "/v1/info", MATCH_EXACT, GET, AUTH_NONE, 0, h_info, "info", 0 },
	{ "/v1/models", MATCH_EXACT, GET, AUTH_NONE, 0, h_models, "models", 0 },
	{ "/v1/models/", MATCH_EXACT, GET, AUTH_NONE, 0, h_models, "models", 0 },
	{ "/models", MATCH_EXACT, GET, AUTH_NONE, 0, h_models, "models", 0 },
	{ "/models/", MATCH_EXACT, GET, AUTH_NONE, 0, h_models, "models", 0 },
	/* Lightning deposits (before the balance catch-all) */
	{ "/v1/balance/lightning/invoice", MATCH_EXACT, POST, AUTH_NONE, 0, h_ln_invoice, "ln_invoice", 0 },
	{ "/lightning/invoice", MATCH_EXACT, POST, AUTH_NONE, 0, h_ln_invoice, "ln_invoice", 0 },
	{ "/v1/balance/lightning/invoice/", MATCH_PREFIX, GET, AUTH_NONE, 0, h_ln_status, "ln_status", 0 },
	{ "/lightning/invoice/", MATCH_PREFIX, GET, AUTH_NONE, 0, h_ln_status, "ln_status", 0 },
	{ "/v1/balance/lightning/recover", MATCH_EXACT, POST, AUTH_NONE, 0, h_ln_recover, "ln_recover", 0 },
	{ "/lightning/recover", MATCH_EXACT, POST, AUTH_NONE, 0, h_ln_recover, "ln_recover", 0 },
	{ "/admin/login", MATCH_EXACT, GET | POST, AUTH_NONE, 16 * 1024, h_admin_login, "admin_login",
	    ROUTE_PAGE },
	{ "/admin/static/", MATCH_PREFIX, GET, AUTH_NONE, 0, h_admin_static, "admin_static", 0 },
	ADMIN_PAGE("/admin", GET, h_admin_root, "admin"),
	ADMIN_PAGE("/admin/", GET, h_admin_overview, "admin"),
	ADMIN_PAGE("/admin/logout", POST, h_admin_logout, "admin_logout"),
	ADMIN_PAGE("/admin/keys", GET, h_admin_keys, "admin_keys"),
	ADMIN_PAGE("/admin/key", GET, h_admin_key, "admin_key"),
	ADMIN_PAGE("/admin/key-limits", POST, h_admin_key_limits, "admin_key_limits"),
	ADMIN_PAGE("/admin/key-refund", POST, h_admin_key_refund, "admin_key_refund"),
	ADMIN_PAGE("/admin/withdraw", GET, h_admin_withdraw_page, "admin_withdraw"),
	ADMIN_PAGE("/admin/withdraw-lightning", POST, h_admin_withdraw_ln, "admin_withdraw_ln"),
	ADMIN_PAGE("/admin/payouts", GET, h_admin_payouts, "admin_payouts"),
	ADMIN_PAGE("/admin/transactions", GET, h_admin_transactions, "admin_transactions"),
	ADMIN_PAGE("/admin/logs", GET, h_admin_logs, "admin_logs"),
	ADMIN_PAGE("/admin/providers", GET, h_admin_providers, "admin_providers"),
	ADMIN_PAGE("/admin/providers", POST, h_admin_provider_save, "admin_providers"),
	ADMIN_PAGE("/admin/provider-toggle", POST, h_admin_provider_toggle, "admin_provider_toggle"),
	ADMIN_PAGE("/admin/models", GET, h_admin_models, "admin_models"),
	ADMIN_PAGE("/admin/model-toggle", POST, h_admin_model_toggle, "admin_model_toggle"),
	ADMIN_PAGE("/admin/model-test", POST, h_admin_model_test, "admin_model_test"),
	ADMIN_PAGE("/admin/model-price", POST, h_admin_model_price, "admin_model_price"),
	ADMIN_PAGE("/admin/settings", GET, h_admin_settings, "admin_settings"),
	ADMIN_PAGE("/admin/settings", POST, h_admin_setting_save, "admin_settings"),
	ADMIN_PAGE("/admin/password", POST, h_admin_password, "admin_password"),
	/* its JSON API (Routstr's routes and shapes) */
	{ "/admin/api/login", MATCH_EXACT, POST, AUTH_NONE, 16 * 1024, h_admin_api_login,
	    "admin_api_login", 0 },
	ADMIN_API("/admin/api/logout", POST, h_admin_api_logout, "admin_api_logout"),
	ADMIN_API("/admin/api/password", PATCH, h_admin_api_password, "admin_api_password"),
	ADMIN_API("/admin/api/settings", GET, h_admin_api_settings, "admin_api_settings"),
	ADMIN_API("/admin/api/settings", PATCH, h_admin_api_settings_patch, "admin_api_settings"),
	ADMIN_API("/admin/api/balances", GET, h_admin_api_balances, "admin_api_balances"),
	ADMIN_API("/admin/api/temporary-balances", GET, h_admin_api_keys, "admin_api_keys"),
	{ "/admin/api/apikeys/", MATCH_PREFIX, PATCH, AUTH_ADMIN, 16 * 1024, h_admin_api_key_patch,
	    "admin_api_key", 0 },
	ADMIN_API("/admin/api/transactions", GET, h_admin_api_transactions, "admin_api_transactions"),
	ADMIN_API("/admin/api/logs", GET, h_admin_api_logs, "admin_api_logs"),
	ADMIN_API("/admin/api/usage/summary", GET, h_admin_api_usage, "admin_api_usage"),
	ADMIN_API("/admin/api/usage/metrics", GET, h_admin_api_metrics, "admin_api_usage"),
	ADMIN_API("/admin/api/usage/revenue-by-model", GET, h_admin_api_by_model, "admin_api_usage"),
	ADMIN_API("/admin/withdraw", POST, h_admin_api_withdraw, "admin_api_withdraw"),
	ADMIN_API("/admin/api/lightning-invoices", GET, h_admin_api_invoices, "admin_api_invoices"),
	ADMIN_API("/admin/api/cli-tokens", GET | POST, h_admin_api_tokens, "admin_api_tokens"),
	{ "/admin/api/cli-tokens/", MATCH_PREFIX, DELETE, AUTH_ADMIN, 0, h_admin_api_token_delete,
	    "admin_api_token", 0 },
	ADMIN_API("/admin/api/upstream-providers", GET | POST, h_admin_api_providers,
	    "admin_api_providers"),
	{ "/admin/api/upstream-providers/", MATCH_PREFIX, GET | PATCH | DELETE, AUTH_ADMIN, 64 * 1024,
	    h_admin_api_provider, "admin_api_provider", 0 },
	BALANCE_ROUTES("/v1/balance"),
	BALANCE_ROUTES("/v1/wallet"),
	{ "/v1/models/paths", MATCH_EXACT, GET, AUTH_NONE, 0, h_model_paths, "model_paths", 0 },
	{ "/v1/models/paths/", MATCH_EXACT, GET, AUTH_NONE, 0, h_model_paths, "model_paths", 0 },
	{ "/v1/models/paths/model", MATCH_EXACT, GET, AUTH_NONE, 0, h_model_paths_model,
	    "model_paths", 0 },
	{ "/v1/models/paths/model/", MATCH_EXACT, GET, AUTH_NONE, 0, h_model_paths_model,
	    "model_paths", 0 },
	{ "/v1/models/", MATCH_PREFIX, GET, AUTH_NONE, 0, h_model_get, "model", 0 },
	{ "/models/", MATCH_PREFIX, GET, AUTH_NONE, 0, h_model_get, "model", 0 },
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
	{ "/v1/", MATCH_FALLBACK, POST, AUTH_KEY, 0, h_proxy, "passthrough", 0 },
};

const size_t routes_count = ARRAY_SIZE(routes);
