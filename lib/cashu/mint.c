/* cashu/mint: see mint.h. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "buf.h"
#include "conf.h"
#include "json.h"
#include "log.h"
#include "upstream.h"
#include "util.h"
#include "cashu/mint.h"

#define MINT_RESPONSE_MAX (4u << 20)	/* largest mint answer we buffer */
#define MINT_KEYSETS_MAX 256		/* keysets one mint may list */
#define MINT_KEYS_MAX 64		/* keys per keyset (amounts 2^0..2^63) */
#define MINT_IO_MAX 10000		/* proofs/outputs/Ys in one call */
#define MINT_QUOTE_ID_MAX 256
#define MINT_REQUEST_MAX 8192		/* bolt11 text */
#define MINT_BACKOFF_CAP_MS 5000
#define MINT_FEE_PPK_MAX 1000000000ull	/* sanity cap on input_fee_ppk */

/* ================================================================ errors */

static const struct {
	const char *name;
	const char *message;
	enum rerr rerr;
	bool transient;
} err_tab[MINT_E__MAX] = {
	[MINT_OK] = { "ok", "OK", RERR_OK, false },
	[MINT_E_SPENT] = { "spent", "Cashu token already spent", RERR_CONFLICT, false },
	[MINT_E_PENDING] = { "pending", "Cashu proofs or quote are pending at the mint", RERR_CONFLICT, true },
	[MINT_E_UNREACHABLE] = { "unreachable", "Cashu mint is unreachable", RERR_UPSTREAM, true },
	[MINT_E_TIMEOUT] = { "timeout", "Cashu mint did not answer in time", RERR_TIMEOUT, true },
	[MINT_E_RATE_LIMITED] = { "rate_limited", "Cashu mint rate-limited; retry after cooldown", RERR_UPSTREAM, true },
	[MINT_E_UNBALANCED] = { "unbalanced", "Cashu transaction is not balanced (fees)", RERR_INVALID, false },
	[MINT_E_TOO_SMALL] = { "too_small", "Token value is too small to cover swap fees", RERR_INVALID, false },
	[MINT_E_KEYSET_UNKNOWN] = { "keyset_unknown", "Unknown or ambiguous keyset", RERR_INVALID, false },
	[MINT_E_KEYSET_INACTIVE] = { "keyset_inactive", "Keyset is inactive or expired", RERR_INVALID, false },
	[MINT_E_OUTPUTS_SIGNED] = { "outputs_signed", "Outputs were already signed", RERR_CONFLICT, false },
	[MINT_E_PROOF_INVALID] = { "proof_invalid", "Proof verification failed", RERR_INVALID, false },
	[MINT_E_QUOTE_UNPAID] = { "quote_unpaid", "Quote is not paid", RERR_CONFLICT, false },
	[MINT_E_QUOTE_ISSUED] = { "quote_issued", "Quote was already issued", RERR_CONFLICT, false },
	[MINT_E_QUOTE_EXPIRED] = { "quote_expired", "Quote is expired", RERR_CONFLICT, false },
	[MINT_E_AMOUNT_LIMIT] = { "amount_limit", "Amount outside of the mint's limits", RERR_INVALID, false },
	[MINT_E_UNIT] = { "unit", "Unit not supported by the mint", RERR_INVALID, false },
	[MINT_E_PAYMENT_FAILED] = { "payment_failed", "Lightning payment failed", RERR_UPSTREAM, false },
	[MINT_E_INVOICE_PAID] = { "invoice_paid", "Invoice already paid", RERR_CONFLICT, false },
	[MINT_E_REJECTED] = { "rejected", "The mint rejected the request", RERR_UPSTREAM, false },
	[MINT_E_PROTOCOL] = { "protocol", "The mint sent an invalid response", RERR_UPSTREAM, false },
	[MINT_E_INVALID] = { "invalid", "Invalid request", RERR_INVALID, false },
	[MINT_E_DB] = { "db", "Wallet database error", RERR_DB, false },
	[MINT_E_UNTRUSTED] = { "untrusted", "Tokens from this mint are not accepted", RERR_INVALID, false },
	[MINT_E_TOKEN] = { "invalid_token", "Invalid Cashu token", RERR_INVALID, false },
	[MINT_E_INSUFFICIENT] = { "insufficient", "Not enough funds in the wallet", RERR_CONFLICT, false },
	[MINT_E_ALREADY_REDEEMED] = { "already_redeemed", "This token was already redeemed here", RERR_CONFLICT, false },
	[MINT_E_INTERRUPTED] = { "interrupted", "Operation interrupted; it will be recovered", RERR_INTERNAL, true },
};

const char *
mint_err_name(enum mint_err e)
{
	return (unsigned)e < MINT_E__MAX ? err_tab[e].name : "unknown";
}

const char *
mint_err_message(enum mint_err e)
{
	return (unsigned)e < MINT_E__MAX ? err_tab[e].message : "unknown error";
}

enum rerr
mint_err_rerr(enum mint_err e)
{
	return (unsigned)e < MINT_E__MAX ? err_tab[e].rerr : RERR_INTERNAL;
}

bool
mint_err_transient(enum mint_err e)
{
	return (unsigned)e < MINT_E__MAX && err_tab[e].transient;
}

enum mint_err
mint_error_set(struct mint_error *e, enum mint_err kind, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return kind;
	e->kind = kind;
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
	return kind;
}

enum mint_err
mint_err_of_code(int code)
{
	switch (code) {
	case 10001: return MINT_E_PROOF_INVALID;
	case 11001: return MINT_E_SPENT;
	case 11002: case 11004: case 20005: return MINT_E_PENDING;
	case 11003: return MINT_E_OUTPUTS_SIGNED;
	case 11005: return MINT_E_UNBALANCED;
	case 11006: case 11014: case 11015: return MINT_E_AMOUNT_LIMIT;
	case 11009: case 11010: case 11013: return MINT_E_UNIT;
	case 12001: return MINT_E_KEYSET_UNKNOWN;
	case 12002: case 12003: return MINT_E_KEYSET_INACTIVE;
	case 20001: return MINT_E_QUOTE_UNPAID;
	case 20002: return MINT_E_QUOTE_ISSUED;
	case 20004: return MINT_E_PAYMENT_FAILED;
	case 20006: return MINT_E_INVOICE_PAID;
	case 20007: return MINT_E_QUOTE_EXPIRED;
	default: return MINT_E_REJECTED;
	}
}

/* ASCII case-insensitive substring search, bounded by the haystack. */
static bool
contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle), i, j;

	for (i = 0; hay[i]; i++) {
		for (j = 0; j < n && hay[i + j]; j++) {
			char a = hay[i + j], b = needle[j];

			if (a >= 'A' && a <= 'Z')
				a = (char)(a + 32);
			if (a != b)
				break;
		}
		if (j == n)
			return true;
	}
	return false;
}

enum mint_err
mint_parse_error(int status, const char *body, size_t len, struct mint_error *e)
{
	struct json_object *j = NULL;
	const char *detail = NULL;
	int64_t code = 0;
	enum mint_err kind;

	e->http_status = status;
	e->code = 0;
	if (body && len > 0 && len < 65536)
		j = json_parse_strict(body, len, NULL);
	if (j) {
		detail = json_get_str(j, "detail");
		if (detail == NULL)
			detail = json_get_str(j, "error");
		if (json_get_i64(j, "code", &code) != 0 || code < 0 || code > 999999)
			code = 0;
	}
	e->code = (int)code;
	if (status == 429) {
		kind = MINT_E_RATE_LIMITED;
	} else if (status >= 500 && code == 0) {
		kind = MINT_E_UNREACHABLE;
	} else if (code != 0) {
		kind = mint_err_of_code((int)code);
	} else if (detail && contains_ci(detail, "already spent")) {
		/* Older mints send the text without a code. */
		kind = MINT_E_SPENT;
	} else {
		kind = MINT_E_REJECTED;
	}
	mint_error_set(e, kind, "HTTP %d code %d: %.180s", status, e->code,
	    detail ? detail : (j ? "(no detail)" : "(no JSON body)"));
	json_object_put(j);
	return kind;
}

uint64_t
mint_fee_from_ppk(uint64_t sum_ppk)
{
	return sum_ppk / 1000 + (sum_ppk % 1000 != 0);
}

size_t
mint_blank_outputs_for(uint64_t fee_reserve)
{
	size_t bits = 0;

	if (fee_reserve == 0)
		return 0;
	/* max(ceil(log2(fee_reserve)), 1) */
	while (bits < 63 && (1ull << bits) < fee_reserve)
		bits++;
	return bits < 1 ? 1 : bits;
}

/* ================================================================ client */

int
mint_url_normalize(const char *url, char *out, size_t outsz)
{
	size_t n;

	if (url == NULL || !(str_iprefix(url, "http://") || str_iprefix(url, "https://")))
		return -1;
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	if (n == 0 || n >= outsz)
		return -1;
	memcpy(out, url, n);
	out[n] = '\0';
	return 0;
}

int
mint_client_init(struct mint_client *mc, struct upstream *up, const char *url)
{
	const struct conf *c = conf_get();

	memset(mc, 0, sizeof(*mc));
	mc->up = up;
	mc->timeout_s = c ? (long)conf_int(c, CONF_MINT_OPERATION_TIMEOUT_SECONDS) : 30;
	mc->max_attempts = c ? (int)conf_int(c, CONF_MINT_RETRY_MAX_ATTEMPTS) : 3;
	if (mc->timeout_s <= 0)
		mc->timeout_s = 30;
	if (mc->max_attempts < 1)
		mc->max_attempts = 1;
	mc->connect_timeout_s = mc->timeout_s < 10 ? mc->timeout_s : 10;
	mc->backoff_ms = 500;
	return mint_url_normalize(url, mc->url, sizeof(mc->url));
}

/* Response headers we care about. */
struct hdr_state {
	long retry_after_s;
};

static int
on_headers(void *ud, int status, const struct upstream_header *h, size_t nh)
{
	struct hdr_state *hs = ud;
	uint64_t v;
	size_t i;

	(void)status;
	for (i = 0; i < nh; i++)
		if (strcmp(h[i].name, "retry-after") == 0 && parse_u64(h[i].value, 86400, &v) == 0)
			hs->retry_after_s = (long)v;
	return 0;
}

/* True when libcurl's message says the connection never got established,
 * so the request cannot have reached the mint. */
static bool
never_sent(const char *msg)
{
	return strcmp(msg, curl_easy_strerror(CURLE_COULDNT_CONNECT)) == 0 ||
	    strcmp(msg, curl_easy_strerror(CURLE_COULDNT_RESOLVE_HOST)) == 0 ||
	    strcmp(msg, curl_easy_strerror(CURLE_COULDNT_RESOLVE_PROXY)) == 0;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* One logical call: method + path with an optional JSON body; retried as the
 * policy in mint.h says (safe: repeating it cannot do harm). On MINT_OK *out
 * is the parsed 200 body (a new reference the caller puts). */
static enum mint_err
mint_call(struct mint_client *mc, const char *method, const char *path,
    struct json_object *body, bool safe, struct json_object **out, struct mint_error *e)
{
	static const char *const headers[] = {
		"Content-Type: application/json", "Accept: application/json", NULL
	};
	struct mint_error scratch;
	struct upstream_request rq;
	struct upstream_sink sink = { .on_headers = on_headers };
	const char *btxt = NULL;
	size_t blen = 0;
	char *url = NULL;
	enum mint_err kind = MINT_E_UNREACHABLE;
	int attempt;

	if (e == NULL)
		e = &scratch;
	memset(e, 0, sizeof(*e));
	*out = NULL;
	if (body)
		btxt = json_compact(body, &blen);
	url = xasprintf("%s%s", mc->url, path);
	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.url = url;
	rq.headers = headers;
	rq.body = btxt;
	rq.body_len = blen;
	rq.connect_timeout_s = mc->connect_timeout_s;
	rq.total_timeout_s = mc->timeout_s;
	rq.max_response = MINT_RESPONSE_MAX;

	for (attempt = 1; attempt <= mc->max_attempts; attempt++) {
		struct upstream_result res;
		struct hdr_state hs = { 0 };
		enum rerr rc;
		bool retry = false;
		long delay;

		e->attempts = attempt;
		e->retry_after_s = 0;
		rc = upstream_perform(mc->up, &rq, &sink, &hs, &res);
		if (rc == RERR_TIMEOUT) {
			e->maybe_sent = true;
			e->http_status = 0;
			kind = mint_error_set(e, MINT_E_TIMEOUT, "%s %s: %s", method, path, res.error);
			retry = safe;
		} else if (rc != RERR_OK && rc != RERR_TOO_LARGE) {
			bool unsent = never_sent(res.error);

			if (!unsent)
				e->maybe_sent = true;
			e->http_status = 0;
			kind = mint_error_set(e, MINT_E_UNREACHABLE, "%s %s: %s", method, path, res.error);
			retry = safe || unsent;
		} else if (rc == RERR_TOO_LARGE) {
			e->maybe_sent = true;
			kind = mint_error_set(e, MINT_E_PROTOCOL, "%s %s: response too large", method, path);
		} else if (res.status == 200) {
			const char *why = "invalid JSON";

			*out = json_parse_strict(res.body.data ? res.body.data : "", res.body.len, &why);
			if (*out == NULL || !json_object_is_type(*out, json_type_object)) {
				json_object_put(*out);
				*out = NULL;
				e->maybe_sent = true;
				kind = mint_error_set(e, MINT_E_PROTOCOL, "%s %s: %s", method, path,
				    *out ? "not a JSON object" : why);
			} else {
				e->http_status = 200;
				kind = MINT_OK;
				e->kind = MINT_OK;
			}
		} else {
			kind = mint_parse_error(res.status, res.body.data, res.body.len, e);
			if (kind == MINT_E_RATE_LIMITED) {
				e->retry_after_s = hs.retry_after_s;
				retry = true;	/* refused before processing */
			} else if (kind == MINT_E_UNREACHABLE) {
				if (res.status != 503)
					e->maybe_sent = true;
				retry = safe || res.status == 503;
			}
		}
		upstream_result_free(&res);
		if (!retry || attempt == mc->max_attempts)
			break;
		delay = mc->backoff_ms << (attempt - 1);
		if (hs.retry_after_s * 1000 > delay)
			delay = hs.retry_after_s * 1000;
		if (delay > MINT_BACKOFF_CAP_MS)
			delay = MINT_BACKOFF_CAP_MS;
		log_info("mint: %s %s%s failed (%s: %s); retry %d/%d in %ld ms", method, mc->url, path,
		    mint_err_name(kind), e->detail, attempt, mc->max_attempts - 1, delay);
		sleep_ms(delay);
	}
	free(url);
	return kind;
}

/* ================================================================ parsing helpers */

static bool
is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return s[n] == '\0';
}

static void
lower_copy(char *dst, const char *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char)(src[i] + 32) : src[i];
	dst[n] = '\0';
}

/* A keyset id in a form we can verify: v1 (16 hex, "00") or v2 (66 hex, "01"). */
static bool
keyset_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 16)
		return is_hex(s, 16) && s[0] == '0' && s[1] == '0';
	if (n == 66)
		return is_hex(s, 66) && s[0] == '0' && s[1] == '1';
	return false;
}

/* A strictly positive JSON integer amount (not a float, not saturated). */
static int
get_amount(struct json_object *o, const char *key, uint64_t *out)
{
	struct json_object *v = json_get(o, key);
	int64_t i;

	if (v == NULL || !json_object_is_type(v, json_type_int))
		return -1;
	i = json_object_get_int64(v);
	if (i <= 0 || i == INT64_MAX)
		return -1;
	*out = (uint64_t)i;
	return 0;
}

/* A 66-hex compressed point on the curve, copied lower-case into out[67]. */
static int
get_point(struct json_object *o, const char *key, char out[67])
{
	const char *s = json_get_str(o, key);

	if (s == NULL || strlen(s) != 66 || cashu_point_parse_hex(s, NULL) != 0)
		return -1;
	lower_copy(out, s, 66);
	return 0;
}

static int
get_hex32(struct json_object *o, const char *key, char out[65])
{
	const char *s = json_get_str(o, key);

	if (s == NULL || strlen(s) != 64 || !is_hex(s, 64))
		return -1;
	lower_copy(out, s, 64);
	return 0;
}

/* An optional non-negative integer: absent or null -> def. */
static int
get_opt_u64(struct json_object *o, const char *key, uint64_t max, uint64_t def, uint64_t *out)
{
	struct json_object *v = json_get(o, key);
	int64_t i;

	if (v == NULL || json_object_is_type(v, json_type_null)) {
		*out = def;
		return 0;
	}
	if (!json_object_is_type(v, json_type_int))
		return -1;
	i = json_object_get_int64(v);
	if (i < 0 || (uint64_t)i > max)
		return -1;
	*out = (uint64_t)i;
	return 0;
}

static int
cmp_key(const void *a, const void *b)
{
	const struct cashu_key *x = a, *y = b;

	return x->amount < y->amount ? -1 : x->amount > y->amount;
}

void
mint_keysets_free(struct mint_keyset *ks, size_t n)
{
	size_t i;

	if (ks == NULL)
		return;
	for (i = 0; i < n; i++)
		free(ks[i].keys);
	free(ks);
}

/* Parse a keys object {"1": "02..", ...} into ks (owned keys array). */
static int
parse_keys(struct json_object *keys, struct mint_keyset *ks, struct mint_error *e)
{
	struct json_object_iterator it, end;
	size_t n = 0, i;

	if (!json_object_is_type(keys, json_type_object)) {
		mint_error_set(e, MINT_E_PROTOCOL, "keyset %s: keys is not an object", ks->id);
		return -1;
	}
	if (json_object_object_length(keys) <= 0 || json_object_object_length(keys) > MINT_KEYS_MAX) {
		mint_error_set(e, MINT_E_PROTOCOL, "keyset %s: %d keys", ks->id,
		    json_object_object_length(keys));
		return -1;
	}
	ks->keys = xcalloc((size_t)json_object_object_length(keys), sizeof(*ks->keys));
	it = json_object_iter_begin(keys);
	end = json_object_iter_end(keys);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *amt = json_object_iter_peek_name(&it);
		struct json_object *v = json_object_iter_peek_value(&it);
		uint64_t a;

		if (parse_u64(amt, UINT64_MAX, &a) != 0 || a == 0 ||
		    !json_object_is_type(v, json_type_string) ||
		    strlen(json_object_get_string(v)) != 66 ||
		    cashu_point_parse_hex(json_object_get_string(v), ks->keys[n].K) != 0) {
			mint_error_set(e, MINT_E_PROTOCOL, "keyset %s: bad key for amount %.30s",
			    ks->id, amt);
			goto fail;
		}
		ks->keys[n].amount = a;
		n++;
	}
	qsort(ks->keys, n, sizeof(*ks->keys), cmp_key);
	for (i = 1; i < n; i++)
		if (ks->keys[i].amount == ks->keys[i - 1].amount) {
			mint_error_set(e, MINT_E_PROTOCOL, "keyset %s: duplicate amount", ks->id);
			goto fail;
		}
	ks->nkeys = n;
	return 0;
fail:
	free(ks->keys);
	ks->keys = NULL;
	ks->nkeys = 0;
	return -1;
}

char *
mint_keys_to_json(const struct mint_keyset *ks)
{
	struct json_object *o = json_object_new_object();
	char *txt;
	size_t i;

	for (i = 0; i < ks->nkeys; i++) {
		char amt[24], hex[67];

		snprintf(amt, sizeof(amt), "%llu", (unsigned long long)ks->keys[i].amount);
		hex_encode(ks->keys[i].K, CASHU_POINT_LEN, hex);
		json_object_object_add(o, amt, json_object_new_string(hex));
	}
	txt = xstrdup(json_compact(o, NULL));
	json_object_put(o);
	return txt;
}

enum mint_err
mint_keys_from_json(const char *text, struct mint_keyset *ks, struct mint_error *e)
{
	struct json_object *o = json_parse_strict(text, strlen(text), NULL);
	int rc;

	free(ks->keys);
	ks->keys = NULL;
	ks->nkeys = 0;
	if (o == NULL)
		return mint_error_set(e, MINT_E_PROTOCOL, "keyset %s: cached keys are not JSON", ks->id);
	rc = parse_keys(o, ks, e);
	json_object_put(o);
	return rc == 0 ? MINT_OK : MINT_E_PROTOCOL;
}

enum mint_err
mint_keyset_verify(const struct mint_keyset *ks, struct mint_error *e)
{
	char id[67];
	int rc;

	if (ks->keys == NULL || ks->nkeys == 0)
		return mint_error_set(e, MINT_E_PROTOCOL, "keyset %s has no keys", ks->id);
	if (strlen(ks->id) == 16)
		rc = cashu_keyset_id_v1(ks->keys, ks->nkeys, id);
	else
		rc = cashu_keyset_id_v2(ks->keys, ks->nkeys, ks->unit, ks->input_fee_ppk,
		    ks->final_expiry > 0 ? (uint64_t)ks->final_expiry : 0, id);
	if (rc != 0 || strcmp(id, ks->id) != 0)
		return mint_error_set(e, MINT_E_PROTOCOL, "keys do not hash to keyset id %s", ks->id);
	return MINT_OK;
}

/* The keysets of a parsed response; root is borrowed. */
static enum mint_err
keysets_of(struct json_object *root, bool with_keys, struct mint_keyset **out, size_t *n,
    struct mint_error *e)
{
	struct json_object *arr;
	struct mint_keyset *ks = NULL;
	size_t i, cnt, k = 0;
	enum mint_err rc = MINT_E_PROTOCOL;

	*out = NULL;
	*n = 0;
	arr = json_get(root, "keysets");
	if (arr == NULL || !json_object_is_type(arr, json_type_array)) {
		mint_error_set(e, MINT_E_PROTOCOL, "keysets: no \"keysets\" array");
		goto out;
	}
	cnt = json_object_array_length(arr);
	if (cnt > MINT_KEYSETS_MAX) {
		mint_error_set(e, MINT_E_PROTOCOL, "keysets: %zu keysets", cnt);
		goto out;
	}
	ks = xcalloc(cnt ? cnt : 1, sizeof(*ks));
	for (i = 0; i < cnt; i++) {
		struct json_object *o = json_object_array_get_idx(arr, i), *v;
		struct mint_keyset *d = &ks[k];
		const char *id = json_get_str(o, "id"), *unit = json_get_str(o, "unit");
		uint64_t exp;

		if (id == NULL || unit == NULL || strlen(unit) == 0 || strlen(unit) >= sizeof(d->unit)) {
			mint_error_set(e, MINT_E_PROTOCOL, "keysets[%zu]: bad id or unit", i);
			goto out;
		}
		if (!keyset_id_ok(id)) {
			/* Legacy base64 ids and unknown versions cannot be verified:
			 * such keysets are left out, not the whole mint. */
			log_debug("mint: skipping keyset with unsupported id %.70s", id);
			continue;
		}
		lower_copy(d->id, id, strlen(id));
		memcpy(d->unit, unit, strlen(unit) + 1);
		v = json_get(o, "active");
		if (v == NULL && with_keys) {
			d->active = true;	/* some mints omit it in /v1/keys */
		} else if (v == NULL || !json_object_is_type(v, json_type_boolean)) {
			mint_error_set(e, MINT_E_PROTOCOL, "keyset %s: active is not a boolean", d->id);
			goto out;
		} else {
			d->active = json_object_get_boolean(v);
		}
		if (get_opt_u64(o, "input_fee_ppk", MINT_FEE_PPK_MAX, 0, &d->input_fee_ppk) != 0 ||
		    get_opt_u64(o, "final_expiry", INT64_MAX, 0, &exp) != 0) {
			mint_error_set(e, MINT_E_PROTOCOL, "keyset %s: bad input_fee_ppk or final_expiry", d->id);
			goto out;
		}
		d->final_expiry = (int64_t)exp;
		if (with_keys) {
			v = json_get(o, "keys");
			if (v == NULL) {
				mint_error_set(e, MINT_E_PROTOCOL, "keyset %s: no keys", d->id);
				goto out;
			}
			if (parse_keys(v, d, e) != 0)
				goto out;
			k++;	/* counted before verify so it is freed on failure */
			if (mint_keyset_verify(d, e) != MINT_OK)
				goto out;
		} else {
			k++;
		}
	}
	*out = ks;
	*n = k;
	ks = NULL;
	rc = MINT_OK;
out:
	mint_keysets_free(ks, k);
	return rc;
}

enum mint_err
mint_parse_keysets(const char *body, size_t len, bool with_keys, struct mint_keyset **out,
    size_t *n, struct mint_error *e)
{
	struct json_object *root = json_parse_strict(body, len, NULL);
	enum mint_err rc = keysets_of(root, with_keys, out, n, e);

	json_object_put(root);
	return rc;
}

/* One blind signature object; expect_amount 0 accepts any amount. */
static int
parse_sig(struct json_object *o, const char *expect_id, uint64_t expect_amount,
    struct mint_sig *s, struct mint_error *e, size_t idx)
{
	const char *id = json_get_str(o, "id");
	struct json_object *d;

	memset(s, 0, sizeof(*s));
	if (o == NULL || !json_object_is_type(o, json_type_object) || id == NULL ||
	    !keyset_id_ok(id) || get_amount(o, "amount", &s->amount) != 0 ||
	    get_point(o, "C_", s->C_) != 0) {
		mint_error_set(e, MINT_E_PROTOCOL, "signature %zu: missing or invalid amount, id or C_", idx);
		return -1;
	}
	lower_copy(s->id, id, strlen(id));
	if (expect_id && strcmp(s->id, expect_id) != 0) {
		mint_error_set(e, MINT_E_PROTOCOL, "signature %zu: keyset %s, expected %s", idx, s->id, expect_id);
		return -1;
	}
	if (expect_amount && s->amount != expect_amount) {
		mint_error_set(e, MINT_E_PROTOCOL, "signature %zu: amount %llu, expected %llu", idx,
		    (unsigned long long)s->amount, (unsigned long long)expect_amount);
		return -1;
	}
	d = json_get(o, "dleq");
	if (d && !json_object_is_type(d, json_type_null)) {
		if (get_hex32(d, "e", s->e) != 0 || get_hex32(d, "s", s->s) != 0) {
			mint_error_set(e, MINT_E_PROTOCOL, "signature %zu: malformed dleq", idx);
			return -1;
		}
		s->has_dleq = true;
	}
	s->present = true;
	return 0;
}

/* The signatures in root[member], one per output, in order; root borrowed. */
static enum mint_err
signatures_of(struct json_object *root, const char *member, const struct mint_output *outs,
    size_t nout, struct mint_sig *sigs, struct mint_error *e)
{
	struct json_object *arr = json_get(root, member);
	size_t i;

	if (arr == NULL || !json_object_is_type(arr, json_type_array))
		return mint_error_set(e, MINT_E_PROTOCOL, "no \"%s\" array in the response", member);
	if (json_object_array_length(arr) != nout)
		return mint_error_set(e, MINT_E_PROTOCOL, "%zu signatures for %zu outputs",
		    json_object_array_length(arr), nout);
	for (i = 0; i < nout; i++)
		if (parse_sig(json_object_array_get_idx(arr, i), outs[i].id, outs[i].amount, &sigs[i],
		    e, i) != 0)
			return MINT_E_PROTOCOL;
	return MINT_OK;
}

enum mint_err
mint_parse_signatures(const char *body, size_t len, const char *member,
    const struct mint_output *outs, size_t nout, struct mint_sig *sigs, struct mint_error *e)
{
	struct json_object *root = json_parse_strict(body, len, NULL);
	enum mint_err rc = signatures_of(root, member, outs, nout, sigs, e);

	json_object_put(root);
	return rc;
}

/* ================================================================ crypto glue */

int
mint_proof_y(const char *secret, char Y[67])
{
	uint8_t y[CASHU_POINT_LEN];

	if (cashu_hash_to_curve((const uint8_t *)secret, strlen(secret), y) != 0)
		return -1;
	hex_encode(y, sizeof(y), Y);
	return 0;
}

int
mint_outputs_new(const char *keyset_id, const uint64_t *amounts, size_t n,
    struct mint_output *out)
{
	size_t i;

	if (!keyset_id_ok(keyset_id))
		return -1;
	for (i = 0; i < n; i++) {
		uint8_t raw[32], B[CASHU_POINT_LEN];

		memset(&out[i], 0, sizeof(out[i]));
		out[i].amount = amounts[i];
		lower_copy(out[i].id, keyset_id, strlen(keyset_id));
		rand_bytes(raw, sizeof(raw));
		hex_encode(raw, sizeof(raw), out[i].secret);
		cashu_random_scalar(out[i].r);
		if (cashu_blind((const uint8_t *)out[i].secret, 64, out[i].r, B) != 0)
			return -1;
		hex_encode(B, sizeof(B), out[i].B_);
	}
	return 0;
}

enum mint_err
mint_unblind(const struct mint_keyset *ks, const struct mint_output *o, const struct mint_sig *sig,
    bool require_dleq, struct cashu_proof *p, struct mint_error *e)
{
	uint8_t C_[CASHU_POINT_LEN], B_[CASHU_POINT_LEN], C[CASHU_POINT_LEN];
	uint8_t ee[CASHU_SCALAR_LEN], ss[CASHU_SCALAR_LEN];
	const struct cashu_key *K = NULL;
	size_t i;

	memset(p, 0, sizeof(*p));
	if (strcmp(ks->id, sig->id) != 0)
		return mint_error_set(e, MINT_E_PROTOCOL, "signature keyset %s is not %s", sig->id, ks->id);
	for (i = 0; i < ks->nkeys; i++)
		if (ks->keys[i].amount == sig->amount)
			K = &ks->keys[i];
	if (K == NULL)
		return mint_error_set(e, MINT_E_PROTOCOL, "keyset %s has no key for amount %llu",
		    ks->id, (unsigned long long)sig->amount);
	if (hex_decode(sig->C_, 66, C_, sizeof(C_)) != 0 || hex_decode(o->B_, 66, B_, sizeof(B_)) != 0)
		return mint_error_set(e, MINT_E_PROTOCOL, "bad point hex");
	if (sig->has_dleq) {
		if (hex_decode(sig->e, 64, ee, sizeof(ee)) != 0 ||
		    hex_decode(sig->s, 64, ss, sizeof(ss)) != 0 ||
		    cashu_dleq_verify(K->K, B_, C_, ee, ss) != 1)
			return mint_error_set(e, MINT_E_PROTOCOL, "DLEQ verification failed on mint response");
	} else if (require_dleq) {
		return mint_error_set(e, MINT_E_PROTOCOL, "mint response lacks the DLEQ proof");
	}
	if (cashu_unblind(C_, o->r, K->K, C) != 0)
		return mint_error_set(e, MINT_E_PROTOCOL, "cannot unblind signature");
	p->amount = sig->amount;
	memcpy(p->keyset_id, ks->id, strlen(ks->id) + 1);
	p->secret = xstrdup(o->secret);
	hex_encode(C, sizeof(C), p->C);
	return MINT_OK;
}

/* ================================================================ JSON builders */

struct json_object *
mint_proofs_json(const struct cashu_proof *in, size_t n)
{
	struct json_object *arr = json_object_new_array_ext((int)n);
	size_t i;

	for (i = 0; i < n; i++) {
		struct json_object *p = json_object_new_object();

		json_object_object_add(p, "amount", json_object_new_uint64(in[i].amount));
		json_object_object_add(p, "id", json_object_new_string(in[i].keyset_id));
		json_object_object_add(p, "secret", json_object_new_string(in[i].secret));
		json_object_object_add(p, "C", json_object_new_string(in[i].C));
		if (in[i].witness)
			json_object_object_add(p, "witness", json_object_new_string(in[i].witness));
		json_object_array_add(arr, p);
	}
	return arr;
}

static struct json_object *
outputs_json(const struct mint_output *o, size_t n)
{
	struct json_object *arr = json_object_new_array_ext((int)n);
	size_t i;

	for (i = 0; i < n; i++) {
		struct json_object *b = json_object_new_object();

		json_object_object_add(b, "amount", json_object_new_uint64(o[i].amount));
		json_object_object_add(b, "id", json_object_new_string(o[i].id));
		json_object_object_add(b, "B_", json_object_new_string(o[i].B_));
		json_object_array_add(arr, b);
	}
	return arr;
}

static int
io_count_ok(size_t n)
{
	return n > 0 && n <= MINT_IO_MAX;
}

/* ================================================================ calls */

enum mint_err
mint_get_info(struct mint_client *mc, struct json_object **info, struct mint_error *e)
{
	return mint_call(mc, "GET", "/v1/info", NULL, true, info, e);
}

enum mint_err
mint_get_keysets(struct mint_client *mc, struct mint_keyset **out, size_t *n, struct mint_error *e)
{
	struct json_object *r = NULL;
	enum mint_err rc;

	*out = NULL;
	*n = 0;
	rc = mint_call(mc, "GET", "/v1/keysets", NULL, true, &r, e);
	if (rc != MINT_OK)
		return rc;
	rc = keysets_of(r, false, out, n, e);
	json_object_put(r);
	return rc;
}

enum mint_err
mint_get_keys(struct mint_client *mc, const char *id, struct mint_keyset **out, size_t *n,
    struct mint_error *e)
{
	struct json_object *r = NULL;
	char path[128];
	enum mint_err rc;

	*out = NULL;
	*n = 0;
	if (id && !keyset_id_ok(id))
		return mint_error_set(e, MINT_E_INVALID, "bad keyset id");
	if (id)
		snprintf(path, sizeof(path), "/v1/keys/%s", id);
	else
		snprintf(path, sizeof(path), "/v1/keys");
	rc = mint_call(mc, "GET", path, NULL, true, &r, e);
	if (rc != MINT_OK)
		return rc;
	rc = keysets_of(r, true, out, n, e);
	json_object_put(r);
	if (rc == MINT_OK && id && (*n != 1 || strcasecmp((*out)[0].id, id) != 0)) {
		mint_keysets_free(*out, *n);
		*out = NULL;
		*n = 0;
		rc = mint_error_set(e, MINT_E_PROTOCOL, "GET /v1/keys/%s answered another keyset", id);
	}
	return rc;
}

/* POST path {member_in: inputs?, outputs} and parse "signatures". */
static enum mint_err
sign_call(struct mint_client *mc, const char *path, struct json_object *req, bool safe,
    const struct mint_output *outs, size_t nout, struct mint_sig *sigs, struct mint_error *e)
{
	struct json_object *r = NULL;
	enum mint_err rc;

	rc = mint_call(mc, "POST", path, req, safe, &r, e);
	json_object_put(req);
	if (rc != MINT_OK)
		return rc;
	rc = signatures_of(r, "signatures", outs, nout, sigs, e);
	json_object_put(r);
	if (rc != MINT_OK && e)
		e->maybe_sent = true;	/* the mint did answer 200: it acted */
	return rc;
}

enum mint_err
mint_swap(struct mint_client *mc, const struct cashu_proof *in, size_t nin,
    const struct mint_output *outs, size_t nout, bool write_ahead, struct mint_sig *sigs,
    struct mint_error *e)
{
	struct json_object *req;

	if (!io_count_ok(nin) || nout > MINT_IO_MAX)
		return mint_error_set(e, MINT_E_INVALID, "swap: %zu inputs, %zu outputs", nin, nout);
	req = json_object_new_object();
	json_object_object_add(req, "inputs", mint_proofs_json(in, nin));
	json_object_object_add(req, "outputs", outputs_json(outs, nout));
	return sign_call(mc, "/v1/swap", req, write_ahead, outs, nout, sigs, e);
}

enum mint_err
mint_mint(struct mint_client *mc, const char *quote, const struct mint_output *outs, size_t nout,
    bool write_ahead, struct mint_sig *sigs, struct mint_error *e)
{
	struct json_object *req;

	if (quote == NULL || strlen(quote) > MINT_QUOTE_ID_MAX || !io_count_ok(nout))
		return mint_error_set(e, MINT_E_INVALID, "mint: bad quote or outputs");
	req = json_object_new_object();
	json_object_object_add(req, "quote", json_object_new_string(quote));
	json_object_object_add(req, "outputs", outputs_json(outs, nout));
	return sign_call(mc, "/v1/mint/bolt11", req, write_ahead, outs, nout, sigs, e);
}

enum mint_err
mint_checkstate(struct mint_client *mc, const char *const *Ys, size_t n,
    enum mint_proof_state *states, struct mint_error *e)
{
	static const char *const names[MINT_STATE__MAX] = {
		[MINT_STATE_UNSPENT] = "UNSPENT", [MINT_STATE_PENDING] = "PENDING",
		[MINT_STATE_SPENT] = "SPENT",
	};
	struct json_object *req, *r = NULL, *arr, *ys;
	enum mint_err rc;
	size_t i;

	if (!io_count_ok(n))
		return mint_error_set(e, MINT_E_INVALID, "checkstate: %zu Ys", n);
	req = json_object_new_object();
	ys = json_object_new_array_ext((int)n);
	for (i = 0; i < n; i++)
		json_object_array_add(ys, json_object_new_string(Ys[i]));
	json_object_object_add(req, "Ys", ys);
	rc = mint_call(mc, "POST", "/v1/checkstate", req, true, &r, e);
	json_object_put(req);
	if (rc != MINT_OK)
		return rc;
	rc = MINT_E_PROTOCOL;
	arr = json_get(r, "states");
	if (arr == NULL || !json_object_is_type(arr, json_type_array) ||
	    json_object_array_length(arr) != n) {
		mint_error_set(e, MINT_E_PROTOCOL, "checkstate: wrong states array");
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);
		const char *Y = json_get_str(o, "Y"), *st = json_get_str(o, "state");
		int k;

		if (Y == NULL || st == NULL || strcasecmp(Y, Ys[i]) != 0) {
			mint_error_set(e, MINT_E_PROTOCOL, "checkstate: state %zu is not for our Y", i);
			goto out;
		}
		for (k = 0; k < MINT_STATE__MAX && strcmp(st, names[k]) != 0; k++)
			;
		if (k == MINT_STATE__MAX) {
			mint_error_set(e, MINT_E_PROTOCOL, "checkstate: unknown state %.20s", st);
			goto out;
		}
		states[i] = (enum mint_proof_state)k;
	}
	rc = MINT_OK;
out:
	json_object_put(r);
	return rc;
}

enum mint_err
mint_restore(struct mint_client *mc, const struct mint_output *outs, size_t n,
    struct mint_sig *sigs, struct mint_error *e)
{
	struct json_object *req, *r = NULL, *ro, *rs;
	enum mint_err rc;
	size_t i, j, m;

	if (!io_count_ok(n))
		return mint_error_set(e, MINT_E_INVALID, "restore: %zu outputs", n);
	memset(sigs, 0, n * sizeof(*sigs));
	req = json_object_new_object();
	json_object_object_add(req, "outputs", outputs_json(outs, n));
	rc = mint_call(mc, "POST", "/v1/restore", req, true, &r, e);
	json_object_put(req);
	if (rc != MINT_OK)
		return rc;
	rc = MINT_E_PROTOCOL;
	ro = json_get(r, "outputs");
	rs = json_get(r, "signatures");
	/* Older mints call the second array "promises". */
	if (rs == NULL)
		rs = json_get(r, "promises");
	if (ro == NULL || rs == NULL || !json_object_is_type(ro, json_type_array) ||
	    !json_object_is_type(rs, json_type_array) ||
	    (m = json_object_array_length(ro)) != json_object_array_length(rs) || m > n) {
		mint_error_set(e, MINT_E_PROTOCOL, "restore: malformed outputs/signatures");
		goto out;
	}
	for (i = 0; i < m; i++) {
		struct json_object *o = json_object_array_get_idx(ro, i);
		const char *B = json_get_str(o, "B_");
		struct mint_sig s;

		for (j = 0; B && j < n && strcasecmp(outs[j].B_, B) != 0; j++)
			;
		if (B == NULL || j == n || sigs[j].present) {
			mint_error_set(e, MINT_E_PROTOCOL, "restore: output %zu is not one we sent", i);
			goto out;
		}
		if (parse_sig(json_object_array_get_idx(rs, i), outs[j].id, 0, &s, e, i) != 0)
			goto out;
		sigs[j] = s;
	}
	rc = MINT_OK;
out:
	json_object_put(r);
	return rc;
}

/* ---------------------------------------------------------------- quotes */

void
mint_quote_free(struct mint_quote *q)
{
	if (q == NULL)
		return;
	free(q->quote);
	free(q->request);
	free(q->preimage);
	free(q->change);
	memset(q, 0, sizeof(*q));
}

static bool
quote_id_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > MINT_QUOTE_ID_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

/* Parse a quote body; melt: fee_reserve, payment_preimage and change. */
static enum mint_err
parse_quote(struct json_object *r, bool melt, const struct mint_output *blanks, size_t nblank,
    struct mint_quote *q, struct mint_error *e)
{
	static const char *const names[MINT_QUOTE__MAX] = {
		[MINT_QUOTE_UNPAID] = "UNPAID", [MINT_QUOTE_PAID] = "PAID",
		[MINT_QUOTE_PENDING] = "PENDING", [MINT_QUOTE_ISSUED] = "ISSUED",
	};
	const char *quote = json_get_str(r, "quote"), *req = json_get_str(r, "request");
	const char *unit = json_get_str(r, "unit"), *st = json_get_str(r, "state");
	const char *pre = json_get_str(r, "payment_preimage");
	struct json_object *ch;
	uint64_t exp;
	int k;

	memset(q, 0, sizeof(*q));
	if (quote == NULL || !quote_id_ok(quote) || req == NULL || strlen(req) > MINT_REQUEST_MAX ||
	    get_amount(r, "amount", &q->amount) != 0 || st == NULL ||
	    get_opt_u64(r, "expiry", INT64_MAX, 0, &exp) != 0)
		return mint_error_set(e, MINT_E_PROTOCOL, "quote: missing or invalid quote, request, amount, state or expiry");
	for (k = 0; k < MINT_QUOTE__MAX && strcmp(st, names[k]) != 0; k++)
		;
	if (k == MINT_QUOTE__MAX)
		return mint_error_set(e, MINT_E_PROTOCOL, "quote: unknown state %.20s", st);
	if (melt && get_opt_u64(r, "fee_reserve", INT64_MAX, 0, &q->fee_reserve) != 0)
		return mint_error_set(e, MINT_E_PROTOCOL, "quote: bad fee_reserve");
	if (unit && strlen(unit) < sizeof(q->unit))
		memcpy(q->unit, unit, strlen(unit) + 1);
	q->state = (enum mint_quote_state)k;
	q->expiry = (int64_t)exp;
	q->quote = xstrdup(quote);
	q->request = xstrdup(req);
	if (pre && strlen(pre) <= 128)
		q->preimage = xstrdup(pre);
	ch = json_get(r, "change");
	if (melt && ch && !json_object_is_type(ch, json_type_null)) {
		size_t i, n;

		if (!json_object_is_type(ch, json_type_array) ||
		    (n = json_object_array_length(ch)) > nblank) {
			mint_quote_free(q);
			return mint_error_set(e, MINT_E_PROTOCOL, "melt: more change than blank outputs");
		}
		q->change = xcalloc(n ? n : 1, sizeof(*q->change));
		for (i = 0; i < n; i++)
			if (parse_sig(json_object_array_get_idx(ch, i), blanks[i].id, 0, &q->change[i],
			    e, i) != 0) {
				mint_quote_free(q);
				return MINT_E_PROTOCOL;
			}
		q->nchange = n;
	}
	return MINT_OK;
}

static enum mint_err
quote_call(struct mint_client *mc, const char *method, const char *path, struct json_object *req,
    bool safe, bool melt, const struct mint_output *blanks, size_t nblank, struct mint_quote *q,
    struct mint_error *e)
{
	struct json_object *r = NULL;
	enum mint_err rc;

	memset(q, 0, sizeof(*q));
	rc = mint_call(mc, method, path, req, safe, &r, e);
	json_object_put(req);
	if (rc != MINT_OK)
		return rc;
	rc = parse_quote(r, melt, blanks, nblank, q, e);
	json_object_put(r);
	if (rc != MINT_OK && e)
		e->maybe_sent = true;
	return rc;
}

enum mint_err
mint_mint_quote(struct mint_client *mc, uint64_t amount, const char *unit, struct mint_quote *q,
    struct mint_error *e)
{
	struct json_object *req;

	if (amount == 0 || amount > INT64_MAX || unit == NULL)
		return mint_error_set(e, MINT_E_INVALID, "mint quote: bad amount or unit");
	req = json_object_new_object();
	json_object_object_add(req, "amount", json_object_new_uint64(amount));
	json_object_object_add(req, "unit", json_object_new_string(unit));
	/* A repeated quote request only creates another unpaid quote: safe. */
	return quote_call(mc, "POST", "/v1/mint/quote/bolt11", req, true, false, NULL, 0, q, e);
}

enum mint_err
mint_mint_quote_state(struct mint_client *mc, const char *quote, struct mint_quote *q,
    struct mint_error *e)
{
	char path[MINT_QUOTE_ID_MAX + 64];

	if (quote == NULL || !quote_id_ok(quote))
		return mint_error_set(e, MINT_E_INVALID, "bad quote id");
	snprintf(path, sizeof(path), "/v1/mint/quote/bolt11/%s", quote);
	return quote_call(mc, "GET", path, NULL, true, false, NULL, 0, q, e);
}

enum mint_err
mint_melt_quote(struct mint_client *mc, const char *bolt11, const char *unit, struct mint_quote *q,
    struct mint_error *e)
{
	struct json_object *req;

	if (bolt11 == NULL || strlen(bolt11) == 0 || strlen(bolt11) > MINT_REQUEST_MAX || unit == NULL)
		return mint_error_set(e, MINT_E_INVALID, "melt quote: bad request or unit");
	req = json_object_new_object();
	json_object_object_add(req, "request", json_object_new_string(bolt11));
	json_object_object_add(req, "unit", json_object_new_string(unit));
	return quote_call(mc, "POST", "/v1/melt/quote/bolt11", req, true, true, NULL, 0, q, e);
}

enum mint_err
mint_melt_quote_state(struct mint_client *mc, const char *quote, struct mint_quote *q,
    struct mint_error *e)
{
	char path[MINT_QUOTE_ID_MAX + 64];

	if (quote == NULL || !quote_id_ok(quote))
		return mint_error_set(e, MINT_E_INVALID, "bad quote id");
	snprintf(path, sizeof(path), "/v1/melt/quote/bolt11/%s", quote);
	return quote_call(mc, "GET", path, NULL, true, true, NULL, 0, q, e);
}

enum mint_err
mint_melt(struct mint_client *mc, const char *quote, const struct cashu_proof *in, size_t nin,
    const struct mint_output *blanks, size_t nblank, struct mint_quote *q, struct mint_error *e)
{
	struct json_object *req;

	if (quote == NULL || !quote_id_ok(quote) || !io_count_ok(nin) || nblank > 64)
		return mint_error_set(e, MINT_E_INVALID, "melt: bad quote, inputs or outputs");
	req = json_object_new_object();
	json_object_object_add(req, "quote", json_object_new_string(quote));
	json_object_object_add(req, "inputs", mint_proofs_json(in, nin));
	if (nblank)
		json_object_object_add(req, "outputs", outputs_json(blanks, nblank));
	/* Never repeated after a timeout: the payment may be in flight. */
	return quote_call(mc, "POST", "/v1/melt/bolt11", req, false, true, blanks, nblank, q, e);
}
