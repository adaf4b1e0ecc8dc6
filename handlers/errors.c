/* errors: see errors.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "errors.h"
#include "http.h"
#include "json.h"

const struct api_err_def api_errs[E__MAX] = {
	[E_INVALID_API_KEY] = { 401, "invalid_request_error", "invalid_api_key",
	    "Invalid API key format. Expected an 'sk-...' API key or a 'cashu...' token.",
	    DETAIL_OBJ },
	[E_KEY_READ_FAILED] = { 500, "internal_error", NULL,
	    "Internal error reading the key" },
	[E_MISSING_API_KEY] = { 401, "invalid_request_error", "missing_api_key",
	    "API key or Cashu token required",
	    "Unauthorized" },
	[E_JSON_NOT_OBJECT] = { 400, "invalid_request_error", "invalid_json",
	    "Request body must be a JSON object",
	    DETAIL_OBJ },
	[E_INVALID_LIMIT] = { 400, "invalid_request_error", "invalid_limit",
	    "balance_limit must be a whole number of msats, not negative" },
	[E_INVALID_VALIDITY_DATE] = { 400, "invalid_request_error", "invalid_validity_date",
	    "validity_date must be a Unix timestamp" },
	[E_MISSING_TOKEN] = { 400, "invalid_request_error", "missing_token",
	    "initial_balance_token is required" },
	[E_CHILD_LIMITS_PARENT_ONLY] = { 403, "invalid_request_error", "child_key",
	    "A child key's limits can only be changed by its parent key." },
	[E_LIMITS_WRITE_FAILED] = { 500, "internal_error", NULL,
	    "Could not set the key's limits" },
	[E_NEW_KEY_READ_FAILED] = { 500, "internal_error", NULL,
	    "Could not read the new key" },
	[E_MISSING_CASHU_TOKEN] = { 400, "invalid_request_error", "missing_token",
	    "A cashu_token is required.",
	    DETAIL_MSG },
	[E_INVALID_CASHU_TOKEN] = { 400, "invalid_token", "invalid_cashu_token",
	    "Invalid token format",
	    DETAIL_MSG },
	[E_CHILD_KEY_HISTORY] = { 400, "invalid_request_error", "child_key",
	    "Cannot view child key history. Please use the parent key instead.",
	    DETAIL_MSG },
	[E_INVALID_COUNT] = { 400, "invalid_request_error", "invalid_count",
	    "Count must be between 1 and %d.",
	    DETAIL_MSG },
	[E_CHILD_OF_CHILD] = { 400, "invalid_request_error", "child_key",
	    "Cannot create a child key for another child key.",
	    DETAIL_MSG },
	[E_CHILD_KEYS_UNAFFORDABLE] = { 402, "insufficient_quota", "insufficient_balance",
	    "Insufficient balance to create %lld child keys. %lld mSats required.",
	    DETAIL_OBJ },
	[E_CHILD_KEYS_FAILED] = { 500, "internal_error", NULL,
	    "Could not create the child keys" },
	[E_MISSING_CHILD_KEY] = { 400, "invalid_request_error", "missing_child_key",
	    "child_key is required" },
	[E_CHILD_KEY_NOT_FOUND] = { 404, "not_found", "child_key_not_found",
	    "Child key not found.",
	    DETAIL_MSG },
	[E_NOT_PARENT] = { 403, "invalid_request_error", "not_parent",
	    "Unauthorized. You are not the parent of this key.",
	    DETAIL_MSG },
	[E_CHILD_RESET_FAILED] = { 500, "internal_error", NULL,
	    "Could not reset the child key" },
	[E_CHILD_KEYS_READ_FAILED] = { 500, "internal_error", NULL,
	    "Could not read the child keys" },
	[E_BALANCE_PATH_NOT_FOUND] = { 404, "not_found", NULL,
	    "Not found check /docs for available endpoints",
	    DETAIL_MSG },
	[E_JSON_SYNTAX] = { 400, "invalid_request_error", "invalid_json",
	    "Request body is not valid JSON: %s",
	    DETAIL_OBJ },
	[E_JSON_NUL] = { 400, "invalid_request_error", "invalid_json",
	    "Request body has a NUL character (\\u0000) in a string",
	    DETAIL_OBJ },
	[E_MODEL_NOT_FOUND] = { 400, "invalid_model", NULL,
	    "Model '%s' not found" },
	[E_REQUEST_TOO_LARGE] = { 400, "invalid_request_error", "request_too_large",
	    "The request's worst-case cost cannot be computed" },
	[E_RESERVE_FAILED] = { 500, "internal_error", NULL,
	    "Internal error reserving the balance" },
	[E_KEY_EXPIRED] = { 403, "invalid_request_error", "key_expired",
	    "API key has expired (validity date reached).",
	    DETAIL_OBJ },
	[E_BALANCE_LIMIT_EXCEEDED] = { 402, "insufficient_quota", "balance_limit_exceeded",
	    "Balance limit exceeded: %lld mSats limit. %lld already spent (%lld reserved), %lld minimum required for this model.",
	    DETAIL_OBJ },
	[E_INSUFFICIENT_BALANCE] = { 402, "insufficient_quota", "insufficient_balance",
	    "Insufficient balance: %s sats (%lld msats) required for this model; %s sats (%lld msats) available.",
	    DETAIL_OBJ },
	[E_INVALID_KEY_EXPIRY_TIME] = { 400, "invalid_request_error", "invalid_key_expiry_time",
	    "Invalid Key-Expiry-Time: must be a valid Unix timestamp",
	    DETAIL_MSG },
	[E_REFUND_LNURL_REQUIRED] = { 400, "invalid_request_error", "refund_lnurl_required",
	    "Error: Refund-LNURL header required when using Key-Expiry-Time",
	    DETAIL_MSG },
	[E_INVALID_REFUND_LNURL] = { 400, "invalid_request_error", "invalid_refund_lnurl",
	    "Refund-LNURL is not a Lightning address or LNURL",
	    DETAIL_MSG },
	[E_XCASHU_FORMAT] = { 401, "invalid_request_error", "invalid_api_key",
	    "Invalid authentication token format",
	    DETAIL_MSG },
	[E_NO_UPSTREAM] = { 503, "upstream_error", "no_upstream",
	    "No upstream provider is configured" },
	[E_UPSTREAM_TIMEOUT] = { 504, "upstream_error", NULL,
	    "Upstream service request timed out" },
	[E_UPSTREAM_TOO_LARGE] = { 502, "upstream_error", NULL,
	    "Upstream response too large" },
	[E_MULTIPART_EXPECTED] = { 400, "invalid_request_error", "invalid_content_type",
	    "This endpoint takes multipart/form-data with a boundary" },
	[E_MULTIPART_INVALID] = { 400, "invalid_request_error", "invalid_multipart",
	    "Invalid multipart/form-data body: %s" },
	[E_PATH_NOT_FOUND] = { 404, "not_found", NULL,
	    "Path '%s' not found" },
	[E_BAD_PARAM] = { 400, "invalid_request_error", "invalid_value",
	    "%s must be %s" },
	[E_UPSTREAM_UNREACHABLE] = { 502, "upstream_error", NULL,
	    "Unable to connect to upstream service: %s" },
	[E_TOKEN_SPENT] = { 400, "token_already_spent", "cashu_token_already_spent",
	    "Token already spent" },
	[E_CASHU_TOKEN_PENDING] = { 503, "mint_unreachable", "cashu_token_pending",
	    "The token's redemption is still in progress; retry shortly" },
	[E_CASHU_TOKEN_ZERO_VALUE] = { 400, "cashu_error", "cashu_token_zero_value",
	    "Failed to redeem Cashu token: token yielded no value" },
	[E_REDEMPTION_FAILED] = { 500, "api_error", "internal_error",
	    "Internal error during token redemption" },
	[E_ONGOING_REQUESTS] = { 400, "invalid_request_error", "ongoing_requests",
	    "Cannot refund key. There are ongoing requests for this api key.",
	    DETAIL_MSG },
	[E_BALANCE_TOO_SMALL] = { 400, "invalid_request_error", "balance_too_small",
	    "Balance too small to refund",
	    DETAIL_MSG },
	[E_NO_BALANCE] = { 400, "invalid_request_error", "no_balance",
	    "No balance to refund",
	    DETAIL_MSG },
	[E_CHILD_KEY_REFUND] = { 400, "invalid_request_error", "child_key",
	    "Cannot refund child key. Please refund the parent key instead.",
	    DETAIL_MSG },
	[E_REFUND_PENDING] = { 425, "invalid_request_error", "refund_pending",
	    "Refund is pending; retry shortly.",
	    DETAIL_MSG },
	[E_CASHU_MINT_UNREACHABLE] = { 503, "mint_unreachable", "cashu_mint_unreachable",
	    "Mint service unavailable; the balance is kept, retry later",
	    DETAIL_MSG },
	[E_REFUND_FAILED] = { 500, "internal_error", NULL,
	    "Refund failed" },
	[E_REFUND_RECIPIENT] = { 502, "lightning_error", "refund_recipient_failed",
	    "Refund to %s failed: %s; the balance is kept",
	    DETAIL_MSG },
	[E_REFUND_UNCONFIRMED] = { 502, "lightning_error", "refund_unconfirmed",
	    "Refund was dispatched but its outcome is unconfirmed; the balance is withheld until "
	    "reconciliation completes",
	    DETAIL_MSG },
	[E_REFUND_NOT_FOUND] = { 404, "not_found", "refund_not_found",
	    "Refund not found",
	    DETAIL_MSG },
	[E_HISTORY_FAILED] = { 500, "internal_error", NULL,
	    "Could not read the history" },
	[E_NO_BTC_PRICE] = { 503, "pricing_error", "pricing_unavailable",
	    "No BTC price is available to price this request",
	    DETAIL_OBJ },
	[E_MODEL_UNPRICED] = { 503, "pricing_error", "pricing_unavailable",
	    "Model '%s' has no price",
	    DETAIL_OBJ },
};

void
api_error(struct req *r, enum api_err e, ...)
{
	const struct api_err_def *d = &api_errs[e];
	struct json_object *err, *env;
	char msg[1024];
	va_list ap;

	va_start(ap, e);
	/* The format is the table's, and the table is compiled in. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	vsnprintf(msg, sizeof(msg), d->message, ap);
#pragma GCC diagnostic pop
	va_end(ap);
	if (d->detail == NULL) {
		resp_error(r, d->status, d->type, d->code, "%s", msg);
		return;
	}
	err = json_object_new_object();
	json_object_object_add(err, "message", json_object_new_string(msg));
	json_object_object_add(err, "type", json_object_new_string(d->type));
	json_object_object_add(err, "code",
	    d->code ? json_object_new_string(d->code) : json_object_new_int(d->status));
	env = json_object_new_object();
	if (d->detail == DETAIL_OBJ) {
		struct json_object *det = json_object_new_object();

		json_object_object_add(det, "error", json_object_get(err));
		json_object_object_add(env, "detail", det);
	} else {
		json_object_object_add(env, "detail", json_object_new_string(
		    d->detail == DETAIL_MSG ? msg : d->detail));
	}
	json_object_object_add(env, "error", err);
	json_object_object_add(env, "request_id", json_object_new_string(r->id));
	req_log_extra(r, "error=%s", d->type);
	resp_json(r, d->status, env);
}
