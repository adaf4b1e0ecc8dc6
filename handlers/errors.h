/* errors: every error the API answers, one row each: HTTP status, Routstr's
 * error type and code, and the message (a printf format whose arguments the
 * caller passes). Handlers answer errors only through api_error(), so a
 * status, type or code is written in one place. The two families whose rows
 * are chosen by another table stay beside it: the Cashu mint errors
 * (wallet_glue.c answer_mint_error, by enum mint_err) and the request
 * parameter checks (proxy.c typed_params). */
#ifndef ROUTSTR_ERRORS_H
#define ROUTSTR_ERRORS_H

#include "http.h"

enum api_err {
	E_INVALID_API_KEY,
	E_KEY_READ_FAILED,
	E_MISSING_API_KEY,
	E_JSON_NOT_OBJECT,
	E_INVALID_LIMIT,
	E_INVALID_VALIDITY_DATE,
	E_MISSING_TOKEN,
	E_CHILD_LIMITS_PARENT_ONLY,
	E_LIMITS_WRITE_FAILED,
	E_NEW_KEY_READ_FAILED,
	E_MISSING_CASHU_TOKEN,
	E_INVALID_CASHU_TOKEN,
	E_CHILD_KEY_HISTORY,
	E_INVALID_COUNT,
	E_CHILD_OF_CHILD,
	E_CHILD_KEYS_UNAFFORDABLE,
	E_CHILD_KEYS_FAILED,
	E_MISSING_CHILD_KEY,
	E_CHILD_KEY_NOT_FOUND,
	E_NOT_PARENT,
	E_CHILD_RESET_FAILED,
	E_CHILD_KEYS_READ_FAILED,
	E_BALANCE_PATH_NOT_FOUND,
	E_JSON_SYNTAX,
	E_JSON_NUL,
	E_MODEL_NOT_FOUND,
	E_REQUEST_TOO_LARGE,
	E_RESERVE_FAILED,
	E_KEY_EXPIRED,
	E_BALANCE_LIMIT_EXCEEDED,
	E_INSUFFICIENT_BALANCE,
	E_INVALID_KEY_EXPIRY_TIME,
	E_REFUND_LNURL_REQUIRED,
	E_INVALID_REFUND_LNURL,
	E_XCASHU_FORMAT,
	E_NO_UPSTREAM,
	E_UPSTREAM_TIMEOUT,
	E_UPSTREAM_TOO_LARGE,
	E_UPSTREAM_UNREACHABLE,
	E_TOKEN_SPENT,
	E_CASHU_TOKEN_PENDING,
	E_CASHU_TOKEN_ZERO_VALUE,
	E_REDEMPTION_FAILED,
	E_ONGOING_REQUESTS,
	E_BALANCE_TOO_SMALL,
	E_NO_BALANCE,
	E_CHILD_KEY_REFUND,
	E_REFUND_PENDING,
	E_CASHU_MINT_UNREACHABLE,
	E_REFUND_FAILED,
	E_REFUND_NOT_FOUND,
	E_REFUND_RECIPIENT,
	E_REFUND_UNCONFIRMED,
	E_HISTORY_FAILED,
	E_NO_BTC_PRICE,
	E_MODEL_UNPRICED,
	E_MULTIPART_EXPECTED,
	E_MULTIPART_INVALID,
	E_PATH_NOT_FOUND,
	E_BAD_PARAM,
	E__MAX
};

/* How Routstr shapes an error (routstr-money.md, "Error envelopes"). Every
 * answer keeps our {"error": {...}, "request_id"} for the OpenAI and
 * Anthropic SDKs; where Routstr raises an HTTP error, its "detail" is there
 * too, so Routstr's clients find what they read. */
#define DETAIL_OBJ ((const char *)1)	/* "detail": {"error": <the error>} */
#define DETAIL_MSG ((const char *)2)	/* "detail": <the message> */

struct api_err_def {
	int status;
	const char *type;
	const char *code;	/* NULL: "code": null */
	const char *message;	/* printf format */
	const char *detail;	/* NULL: none; DETAIL_OBJ, DETAIL_MSG, or this text */
};

extern const struct api_err_def api_errs[E__MAX];

/* Answer r with error e in the envelope ({"error":{message,type,code},
 * "request_id"}), the message formatted from the row's format and the
 * arguments that follow (they must match it). */
void api_error(struct req *r, enum api_err e, ...);

#endif
