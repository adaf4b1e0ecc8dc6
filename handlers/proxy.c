/* proxy: the adapter between the route table and the relay engine
 * (lib/relay/relay.h). It maps a route to its endpoint, reads the request
 * (JSON or multipart), resolves who pays (a key, or the X-Cashu token of
 * this request), prices the worst case and reserves it (committed before
 * any upstream I/O), then runs the engine with the client and money sides
 * implemented here, and settles the real cost exactly once (DESIGN.md 4
 * and 5). Errors before the relay are answered here; the engine answers
 * the rest. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <unistd.h>

#include "auth.h"
#include "errors.h"
#include "lnurl.h"
#include "buf.h"
#include "catalog.h"
#include "conf.h"
#include "handlers.h"
#include "json.h"
#include "ledger.h"
#include "log.h"
#include "multipart.h"
#include "price.h"
#include "pricing.h"
#include "providers.h"
#include "relay/relay.h"
#include "server.h"
#include "upstream.h"
#include "usage.h"
#include "util.h"
#include "cashu/token.h"
#include "wallet_glue.h"

#define MULTIPART_FIELD_MAX 256	/* a multipart text field we read (model, n) */

/* Request headers the upstream gets from the client: content negotiation
 * and the documented request headers that select a provider's API version
 * or beta features. Nothing else goes: no client credential (OpenAI-
 * Organization, X-Api-Key, cookies; the operator's key is the only one), no
 * proxy chain (Forwarded, X-Forwarded-For), no SDK telemetry (X-Stainless-*,
 * User-Agent: it names the client's machine and adds nothing a provider
 * needs). UPSTREAM_FORWARD_HEADERS adds names; Content-Type is always ours. */
static const char *const forwarded_headers[] = {
	"accept", "openai-beta", "anthropic-version", "anthropic-beta",
};

/* Never forwarded, whatever UPSTREAM_FORWARD_HEADERS says: credentials,
 * ours, hop-by-hop, and what libcurl or we set. */
static const char *const never_forwarded[] = {
	"host", "content-length", "content-type", "authorization", "x-api-key", "x-cashu",
	"refund-lnurl", "key-expiry-time", "connection", "keep-alive",
	"proxy-authorization", "proxy-authenticate", "proxy-connection", "te", "trailer",
	"transfer-encoding", "upgrade", "expect", "accept-encoding", "cookie",
};

/* The money side of one request. */
struct bill {
	struct req *r;
	const struct relay_endpoint *ep;
	struct relay_ask ask;
	struct relay_bill m;	/* price, reservation, settlement (lib/relay/bill.c) */
	struct auth who;
	const struct catalog_model *model;	/* borrowed from cat */
	struct catalog *cat;			/* our reference */
	struct providers *provs;		/* our reference */
	struct relay_provider cand[PROVIDERS_MAX];	/* tried in this order */
	const char *cand_model[PROVIDERS_MAX];	/* each one's id for the model */
	int64_t cand_fee[PROVIDERS_MAX];	/* each one's fee, -1: the default */
	size_t ncand;
	int64_t btc;		/* the BTC price the request was priced at */
	struct json_object *json;	/* the JSON body (borrowed from h_proxy) */
	struct multipart *mp;		/* or the multipart one (borrowed) */
	char *sent;		/* the body last sent (owned) */
	bool dropped;		/* a parameter was dropped from json */
	size_t sent_len;
	bool xcashu;		/* paid by the X-Cashu token of this request */
	char *change;		/* X-Cashu: the change token (owned), NULL if none */
	char *upfront;		/* X-Cashu stream: the change sent up front (owned) */
	char *model_name;	/* the model the client named (owned) */
	bool change_deferred;	/* the mint could not make the change now */
	int64_t change_msat;
	char *note;		/* end-of-stream comment (owned) */
	char provider[72];	/* who served it */
};

static bool
in_list(const char *name, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(name, list[i]) == 0)
			return true;
	return false;
}

/* Whether the operator's UPSTREAM_FORWARD_HEADERS names header name (lower
 * case): an item matches it whole, or, ending in '*', as a prefix. */
static bool
operator_forwards(const char *name)
{
	size_t i, n, len;
	const char *const *items = conf_list(conf_get(), CONF_UPSTREAM_FORWARD_HEADERS, &n);

	for (i = 0; i < n; i++) {
		len = strlen(items[i]);
		if (len > 0 && items[i][len - 1] == '*' ?
		    strncasecmp(name, items[i], len - 1) == 0 : strcasecmp(name, items[i]) == 0)
			return true;
	}
	return false;
}

/* "Name: value" lines of the client headers the upstream gets; the caller
 * frees with free_lines. Header names in r are lower case. */
static char **
forward_headers(const struct req *r)
{
	char **out = xcalloc(r->nheaders + 1, sizeof(char *));
	size_t i, n = 0;

	for (i = 0; i < r->nheaders; i++) {
		const char *name = r->headers[i].name;

		if (in_list(name, never_forwarded, ARRAY_SIZE(never_forwarded)) ||
		    strncmp(name, "x-routstr-", 10) == 0)
			continue;
		if (in_list(name, forwarded_headers, ARRAY_SIZE(forwarded_headers)) ||
		    operator_forwards(name))
			out[n++] = xasprintf("%s: %s", name, r->headers[i].value);
	}
	out[n] = NULL;
	return out;
}

static void
free_lines(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* ---- money ---------------------------------------------------------- */

static int64_t
money_cost_so_far(void *ud, const struct relay_meter *m)
{
	struct pricing_cost pc;

	return relay_bill_cost(&((struct bill *)ud)->m, m, &pc, NULL);
}

/* The cost so far, which the sweeper charges if this process dies first. */
static void
money_progress(void *ud, int64_t cost)
{
	struct bill *b = ud;

	if (b->m.res_id == 0 || b->m.settled)
		return;
	ledger_progress(b->r->worker->db, b->m.res_id, cost);
}

/* X-Cashu: what the token's key still holds goes back as a change token,
 * persisted before it is returned. If the mint cannot make it now, the
 * balance stays on the key and POST /v1/balance/refund with the same X-Cashu
 * header fetches it later. */
static void
make_change(struct req *r, struct bill *b)
{
	struct funds_ctx fc;
	struct funds_withdrawal w;
	enum funds_status fs;
	int tries;

	if (!b->xcashu || b->change)
		return;
	wallet_glue_ctx(r, &fc);
	/* A refund with the same X-Cashu header may be making this change
	 * right now: wait for it (bounded) and return the same token. */
	for (tries = 0; (fs = funds_withdraw(&fc, &b->who.key, "x-cashu-change", &w)) ==
	    FUNDS_PENDING && tries < 20; tries++)
		usleep(100 * 1000);
	if (fs == FUNDS_OK && b->upfront && strcmp(w.token, b->upfront) == 0) {
		/* Nothing more: the withdrawal offered again is the change
		 * that already went up front. */
		free(w.token);
	} else if (fs == FUNDS_OK) {
		b->change = w.token;
		b->change_msat = w.msat;
	} else if (fs != FUNDS_NOTHING && fs != FUNDS_TOO_SMALL) {
		b->change_deferred = true;
		req_log_extra(r, "change=deferred(%s)", funds_status_name(fs));
	}
}

/* Settle (charge) or release the reservation, exactly once; fill c. */
static void
money_finish(void *ud, bool charge, const struct relay_meter *m, struct relay_cost *c)
{
	struct bill *b = ud;
	struct req *r = b->r;
	struct ledger_request_log log;
	enum rerr e;

	snprintf(b->provider, sizeof(b->provider), "%s", c->provider ? c->provider : "");
	memset(c, 0, sizeof(*c));
	c->provider = b->provider;
	if (b->m.res_id == 0 || b->m.settled)
		return;
	if (!charge) {
		if ((e = relay_bill_release(&b->m, r->worker->db)) != RERR_OK)
			log_error("request %s: release of reservation %lld failed: %s", r->id,
			    (long long)b->m.res_id, rerr_name(e));
		req_log_extra(r, "released=%lld", (long long)b->m.reserved);
		make_change(r, b);
		goto out;
	}
	/* Priced with the fee of the provider that served it. */
	for (size_t i = 0; i < b->ncand; i++)
		if (strcmp(b->cand[i].name, b->provider) == 0)
			pricing_params_from_conf(conf_get(), b->cand_fee[i], b->btc, &b->m.pp);
	memset(&log, 0, sizeof(log));
	log.request_id = r->id;
	log.model = b->model ? b->model->id : "";
	log.provider = b->provider;
	log.duration_ms = (mono_usec() - r->start_us) / 1000;
	if ((e = relay_bill_settle(&b->m, r->worker->db, m, &log)) != RERR_OK) {
		/* The reservation stays until this process is gone; the
		 * sweeper then charges what it recorded: the whole cost. */
		ledger_progress(r->worker->db, b->m.res_id, b->m.cost.total_msat);
		log_error("request %s: settle of reservation %lld failed: %s", r->id,
		    (long long)b->m.res_id, rerr_name(e));
		goto out;
	}
	if (b->m.estimated)
		req_log_extra(r, "billed_by=estimate");
	req_log_extra(r, "charged=%lld", (long long)b->m.cost.total_msat);
	if (b->m.forgiven > 0)
		req_log_extra(r, "forgiven=%lld", (long long)b->m.forgiven);
	make_change(r, b);
out:
	c->cost = b->m.cost;
	c->balance_after = b->m.balance_after;
	if (b->xcashu && (b->change || b->change_deferred)) {
		/* Headers may be gone (a stream): the change is named in a
		 * comment too, and kept for POST /v1/balance/refund with the same
		 * X-Cashu header when the mint could not make it now. */
		free(b->note);
		b->note = xasprintf("x-cashu-change %s", b->change ? b->change :
		    "pending; POST /v1/balance/refund with this X-Cashu header");
		c->note = b->note;
	}
}

/* Headers of an answer that is not a stream: the cost when charged, and
 * the X-Cashu change. */
static void
money_headers(void *ud, const struct relay_cost *c)
{
	struct bill *b = ud;
	struct req *r = b->r;
	char v[64];

	if (b->m.charged) {
		snprintf(v, sizeof(v), "%lld", (long long)c->cost.total_msat);
		resp_header(r, "X-Routstr-Cost-Msats", v);
		snprintf(v, sizeof(v), "%lld", (long long)c->cost.input_msat);
		resp_header(r, "X-Routstr-Input-Cost-Msats", v);
		snprintf(v, sizeof(v), "%lld", (long long)c->cost.output_msat);
		resp_header(r, "X-Routstr-Output-Cost-Msats", v);
		if (c->cost.usd_fusd > 0) {
			pricing_fmt_fusd(c->cost.usd_fusd, v, sizeof(v));
			resp_header(r, "X-Routstr-Cost-Usd", v);
		}
	}
	/* One X-Cashu header: when the change above the reservation went up
	 * front, the rest is fetched with POST /v1/balance/refund. */
	if (b->change && b->upfront == NULL)
		resp_header(r, "X-Cashu", b->change);
}

/* An X-Cashu stream: the change above what the request reserved goes in the
 * X-Cashu header, which leaves before the first event (Routstr's clients
 * read it there); the rest follows at the end (the final comment, and POST
 * /v1/balance/refund). Called inside the upstream transfer, so the mint is
 * reached with a curl handle of its own. */
static void
money_stream_start(void *ud)
{
	struct bill *b = ud;
	struct funds_ctx fc;
	struct funds_withdrawal w;
	enum funds_status fs;

	if (!b->xcashu || b->upfront)
		return;
	wallet_glue_ctx(b->r, &fc);
	if ((fc.up = upstream_new()) == NULL)
		return;
	/* The same source as the final change: a refund with this X-Cashu
	 * header offers the last of them again. */
	fs = funds_withdraw_free(&fc, &b->who.key, "x-cashu-change", &w);
	upstream_free(fc.up);
	if (fs == FUNDS_OK) {
		b->upfront = w.token;
		resp_header(b->r, "X-Cashu", w.token);
		req_log_extra(b->r, "change_upfront=%lld", (long long)w.msat);
	} else if (fs != FUNDS_NOTHING && fs != FUNDS_TOO_SMALL) {
		req_log_extra(b->r, "change_upfront=deferred(%s)", funds_status_name(fs));
	}
}

/* X-Cashu: an upstream error answers as Routstr does, with the refund (the
 * whole token's value, less nothing: it was released) in the body and in
 * the X-Cashu header money_headers added. */
static bool
money_answer_error(void *ud, int status)
{
	struct bill *b = ud;
	struct json_object *env, *err;

	if (!b->xcashu)
		return false;
	err = json_object_new_object();
	json_object_object_add(err, "message",
	    json_object_new_string("Error forwarding request to upstream"));
	json_object_object_add(err, "type", json_object_new_string("upstream_error"));
	json_object_object_add(err, "code", json_object_new_int(status));
	json_object_object_add(err, "refund_token", b->change ? json_object_new_string(b->change) :
	    NULL);
	env = json_object_new_object();
	json_object_object_add(env, "error", err);
	json_object_object_add(env, "request_id", json_object_new_string(b->r->id));
	resp_json(b->r, status >= 400 ? status : 502, env);
	return true;
}

/* ---- the client side ------------------------------------------------ */

static void
client_status(void *ud, int status)
{
	resp_status(ud, status);
}

static void
client_header(void *ud, const char *name, const char *value)
{
	resp_header(ud, name, value);
}

static int
client_write(void *ud, const char *p, size_t n)
{
	return resp_write(ud, p, n);
}

static int
client_stream(void *ud, const char *p, size_t n)
{
	return n == 0 ? resp_flush(ud) : resp_stream(ud, p, n);
}

static bool
client_gone(void *ud)
{
	return ((struct req *)ud)->client_gone;
}

/* The parameters that steer the relay and its worst case, with the type each
 * must have (null counts as absent): a wrong one is refused at the door, not
 * guessed at by us and differently by the upstream. */
static const struct typed_param {
	const char *name;
	enum json_type type;
	const char *code;
	const char *what;
} typed_params[] = {
	{ "stream", json_type_boolean, "invalid_stream", "a boolean" },
	{ "stream_options", json_type_object, "invalid_stream_options", "an object" },
	{ "max_tokens", json_type_int, "invalid_max_tokens", "an integer >= 0" },
	{ "max_completion_tokens", json_type_int, "invalid_max_completion_tokens",
	    "an integer >= 0" },
};

/* Check the typed parameters of body (borrowed). Returns 0 or -1 after
 * answering 400. */
static int
check_params(struct req *r, struct json_object *body)
{
	const struct typed_param *tp;
	struct json_object *v;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(typed_params); i++) {
		tp = &typed_params[i];
		v = json_get(body, tp->name);
		if (v == NULL || json_object_is_type(v, json_type_null))
			continue;
		if (!json_object_is_type(v, tp->type) ||
		    (tp->type == json_type_int && json_object_get_int64(v) < 0)) {
			resp_error(r, 400, "invalid_request_error", tp->code, "%s must be %s",
			    tp->name, tp->what);
			return -1;
		}
	}
	return 0;
}

/* How many answers or images: an integer from 1 to COUNT_MAX, or the
 * request is refused, never guessed at (an upstream that read "4" as 4
 * would make four for the price of one). Returns 0 or -1 after 400. */
#define COUNT_MAX 128
static int
check_counts(struct req *r, struct json_object *body)
{
	static const char *const names[] = { "n", "best_of" };
	struct json_object *v;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		v = json_get(body, names[i]);
		if (v == NULL || json_object_is_type(v, json_type_null))
			continue;
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 ||
		    json_object_get_int64(v) > COUNT_MAX) {
			api_error(r, E_BAD_PARAM, names[i], "an integer from 1 to 128");
			return -1;
		}
	}
	return 0;
}

/* Parameters that make the upstream charge more than the catalogue's price
 * of the model named: refused at the door rather than billed below cost
 * (OpenAI's priority and scale tiers; OpenRouter's fallback list, which may
 * route to a dearer model). Returns 0 or -1 after answering 400. */
static int
check_priced_params(struct req *r, struct json_object *body)
{
	const char *tier = json_get_str(body, "service_tier");
	struct json_object *models = json_get(body, "models");

	if (tier && (strcmp(tier, "priority") == 0 || strcmp(tier, "scale") == 0)) {
		api_error(r, E_BAD_PARAM, "service_tier", "auto, default or flex on this node");
		return -1;
	}
	if (models && !json_object_is_type(models, json_type_null)) {
		api_error(r, E_BAD_PARAM, "models",
		    "absent: a request is priced by the one model it names");
		return -1;
	}
	return 0;
}

/* Parse and check a JSON body; find the model. Returns 0 or -1 after
 * answering. */
static int
read_json(struct req *r, struct json_object **bodyp, struct bill *b)
{
	struct json_object *body;
	const char *why = NULL;

	body = json_parse_strict(r->body ? r->body : "", r->body_len, &why);
	*bodyp = body;
	if (body == NULL) {
		api_error(r, E_JSON_SYNTAX, why);
		return -1;
	}
	if (!json_object_is_type(body, json_type_object)) {
		api_error(r, E_JSON_NOT_OBJECT);
		return -1;
	}
	if (json_text_has_nul(r->body, r->body_len)) {
		api_error(r, E_JSON_NUL);
		return -1;
	}
	if (check_params(r, body) < 0 || check_counts(r, body) < 0 ||
	    check_priced_params(r, body) < 0)
		return -1;
	relay_read_json(b->ep, body, &b->ask);
	/* A copy: the body's model string is replaced when it is rewritten
	 * for a provider. */
	if (b->ask.model != NULL)
		b->ask.model = b->model_name = xstrdup(b->ask.model);
	return 0;
}

/* Read a multipart/form-data body into *mp: its model and the fields that
 * bound its cost. The bytes are relayed as they came (but for the model's
 * id). Returns 0 or -1 after answering 400. */
static int
read_multipart(struct req *r, struct bill *b, struct multipart *mp, char *model, size_t msz)
{
	const char *ct = req_header(r, "content-type");
	char boundary[MULTIPART_BOUNDARY_MAX + 1], v[MULTIPART_FIELD_MAX];
	enum multipart_err me;
	int64_t n;

	memset(&b->ask, 0, sizeof(b->ask));
	b->ask.max_tokens = -1;
	b->ask.requests = 1;
	if (ct == NULL || multipart_boundary(ct, boundary, sizeof(boundary)) < 0) {
		api_error(r, E_MULTIPART_EXPECTED);
		return -1;
	}
	if ((me = multipart_parse(mp, r->body ? r->body : "", r->body_len, boundary)) !=
	    MULTIPART_OK) {
		api_error(r, E_MULTIPART_INVALID, multipart_strerror(me));
		return -1;
	}
	me = multipart_field(mp, "model", model, msz, NULL);
	if (me == MULTIPART_OK) {
		b->ask.model = model;
	} else if (me != MULTIPART_NOT_FOUND) {
		api_error(r, E_MULTIPART_INVALID, multipart_strerror(me));
		return -1;
	}
	b->ask.outputs = 1;
	if (b->ep->images) {
		me = multipart_field(mp, "n", v, sizeof(v), NULL);
		if (me == MULTIPART_NOT_FOUND) {
			b->ask.images_out = 1;
		} else if (me != MULTIPART_OK || parse_i64(v, 1, COUNT_MAX, &n) < 0) {
			api_error(r, E_BAD_PARAM, "n", "an integer from 1 to 128");
			return -1;
		} else {
			b->ask.images_out = n;
		}
	}
	me = multipart_field(mp, "stream", v, sizeof(v), NULL);
	if (me == MULTIPART_DUP_FIELD) {
		api_error(r, E_MULTIPART_INVALID, multipart_strerror(me));
		return -1;
	}
	if (b->ep->streams && me == MULTIPART_OK && strcmp(v, "true") == 0)
		b->ask.stream = true;
	for (size_t i = 0; i < mp->nparts; i++) {
		const struct multipart_part *p = &mp->parts[i];

		/* The text of a prompt (transcription context, image edit) of
		 * any length counts toward the worst case. */
		if (p->filename == NULL && p->name_len == 6 && memcmp(p->name, "prompt", 6) == 0)
			b->ask.prompt_chars += usage_codepoints(p->data, p->data_len);
	}
	/* Audio is priced by its tokens when the answer says; the worst case
	 * counts one token per 100 bytes of upload. */
	b->ask.prompt_chars += (int64_t)(r->body_len / 25);
	return 0;
}

/* Find the catalogued model the request names. Returns 0 or -1 after
 * answering 400. */
static int
find_model(struct req *r, struct bill *b)
{
	b->cat = catalog_current(r->worker->db);
	b->model = b->ask.model && b->cat ? catalog_find(b->cat, b->ask.model) : NULL;
	if (b->model == NULL) {
		api_error(r, E_MODEL_NOT_FOUND, b->ask.model ? b->ask.model : "unknown");
		return -1;
	}
	req_log_extra(r, "model=%s", b->model->id);
	return 0;
}

/* Price the request: its worst-case cost into b->m.reserved. Returns 0 or -1
 * after answering (400, 503). */
static int
price_request(struct req *r, struct bill *b)
{
	const struct conf *c = conf_get();
	int64_t btc = 0, fee = -1;
	size_t i;

	if (price_btc_usd(r->worker->db, r->worker->up, &btc, NULL) != RERR_OK)
		btc = 0;
	b->btc = btc;
	/* The worst case is priced at the dearest candidate's fee: failover
	 * never costs the client more than it agreed to. */
	for (i = 0; i < b->ncand; i++) {
		int64_t f = b->cand_fee[i] > 0 ? b->cand_fee[i] :
		    conf_int(c, CONF_UPSTREAM_PROVIDER_FEE);

		if (f > fee)
			fee = f;
	}
	pricing_params_from_conf(c, fee, btc, &b->m.pp);
	if (!b->m.pp.fixed && (!b->model->priced || b->m.pp.btc_usd_micro <= 0)) {
		if (b->model->priced)
			api_error(r, E_NO_BTC_PRICE);
		else
			api_error(r, E_MODEL_UNPRICED, b->model->id);
		return -1;
	}
	b->m.ep = b->ep;
	b->m.ask = &b->ask;
	b->m.price = b->model->priced ? &b->model->price : NULL;
	if (relay_bill_price(&b->m) != RERR_OK) {
		api_error(r, E_REQUEST_TOO_LARGE);
		return -1;
	}
	return 0;
}

/* Reserve b->m.reserved on the key. Returns 0 or -1 after answering (402, 403).
 * An X-Cashu payer refused here gets its token's value back at once. */
static int
reserve(struct req *r, struct bill *b)
{
	struct ledger_reserve_result rr;
	char need[32], have[32];
	enum rerr e;

	e = ledger_reserve(r->worker->db, b->who.hash, b->m.reserved, r->id, b->model->id, &rr);
	if (e == RERR_OK) {
		b->m.res_id = rr.id;
		req_log_extra(r, "reserved=%lld", (long long)b->m.reserved);
		return 0;
	}
	if (e != RERR_CONFLICT) {
		api_error(r, E_RESERVE_FAILED);
		return -1;
	}
	make_change(r, b);
	if (b->change)
		resp_header(r, "X-Cashu", b->change);
	switch (rr.refusal) {
	case LEDGER_REFUSE_EXPIRED:
		api_error(r, E_KEY_EXPIRED);
		break;
	case LEDGER_REFUSE_LIMIT:
		api_error(r, E_BALANCE_LIMIT_EXCEEDED, (long long)rr.limit, (long long)rr.spent, (long long)rr.key_reserved, (long long)b->m.reserved);
		break;
	default:
		pricing_fmt_msat_as_sat(b->m.reserved, need, sizeof(need));
		pricing_fmt_msat_as_sat(rr.available, have, sizeof(have));
		api_error(r, E_INSUFFICIENT_BALANCE, need, (long long)b->m.reserved, have, (long long)rr.available);
		break;
	}
	return -1;
}

/* Routstr's optional key headers: Refund-LNURL (a Lightning address for
 * refunds) and Key-Expiry-Time (a Unix time, which needs Refund-LNURL), stored
 * on the key. Returns 0 or -1 after answering 400. */
static int
key_headers(struct req *r, const struct auth *a)
{
	const char *lnurl = req_header(r, "refund-lnurl");
	const char *exp = req_header(r, "key-expiry-time");
	int64_t t = -1;

	if (exp) {
		if (parse_i64(exp, 0, INT64_MAX, &t) < 0) {
			api_error(r, E_INVALID_KEY_EXPIRY_TIME);
			return -1;
		}
		if (lnurl == NULL || *lnurl == '\0') {
			api_error(r, E_REFUND_LNURL_REQUIRED);
			return -1;
		}
	}
	if (lnurl && *lnurl) {
		char url[LNURL_URL_MAX + 1];

		/* Checked at the door: a refund paid there later must have
		 * somewhere to go. */
		if (strlen(lnurl) > LEDGER_TEXT_MAX || lnurl_resolve(lnurl,
		    conf_bool(conf_get(), CONF_LNURL_ALLOW_HTTP), url, sizeof(url)) != 0) {
			api_error(r, E_INVALID_REFUND_LNURL);
			return -1;
		}
	}
	if ((lnurl && *lnurl) || t >= 0)
		ledger_key_set_refund(r->worker->db, a->hash, lnurl && *lnurl ? lnurl : NULL, t);
	return 0;
}

/* X-Cashu: the token pays for this request. Its face value must cover the
 * worst case; it is redeemed into a key of its own (sha256 of the token, as
 * a bearer token would be), which is emptied into a change token at the end.
 * Returns 0 or -1 after answering. */
static int
xcashu_pay(struct req *r, const char *token, struct bill *b)
{
	struct cashu_token t;
	struct json_object *err;
	char hash[65];
	int64_t value;
	enum cashu_token_err te;

	memset(&t, 0, sizeof(t));
	te = cashu_token_decode(token, strlen(token), &t);
	/* Only sat and msat tokens hold value here; any other unit is
	 * refused before anything is swapped. */
	value = te != CASHU_TOK_OK ? -1 : funds_to_msat(t.total, t.unit);
	cashu_token_free(&t);
	if (value < 0) {
		api_error(r, E_XCASHU_FORMAT);
		return -1;
	}
	if (value < b->m.reserved) {
		/* Routstr's shape: {"detail": {reason, amount_required_msat,
		 * model, type}}; the "error" beside it is for the SDKs. The
		 * token was not touched: it goes back as it came. */
		struct json_object *env = json_object_new_object(), *det = json_object_new_object();

		json_object_object_add(det, "reason", json_object_new_string("Insufficient balance"));
		json_object_object_add(det, "amount_required_msat", json_object_new_int64(b->m.reserved));
		json_object_object_add(det, "model", json_object_new_string(b->model->id));
		json_object_object_add(det, "type", json_object_new_string("minimum_balance_required"));
		err = json_object_new_object();
		json_object_object_add(err, "message", json_object_new_string("Insufficient balance"));
		json_object_object_add(err, "type", json_object_new_string("minimum_balance_required"));
		json_object_object_add(err, "code", json_object_new_string("insufficient_balance"));
		json_object_object_add(err, "reason", json_object_new_string("Insufficient balance"));
		json_object_object_add(err, "amount_required_msat", json_object_new_int64(b->m.reserved));
		json_object_object_add(err, "model", json_object_new_string(b->model->id));
		json_object_object_add(env, "detail", det);
		json_object_object_add(env, "error", err);
		json_object_object_add(env, "request_id", json_object_new_string(r->id));
		resp_header(r, "X-Cashu", token);
		req_log_extra(r, "error=minimum_balance_required");
		resp_json(r, 402, env);
		return -1;
	}
	auth_token_hash(token, hash);
	if (ledger_key_get(r->worker->db, hash, &b->who.key, &b->who.billing) != RERR_OK) {
		if (wallet_glue_create_key_as(r, token, hash, NULL, "x-cashu") < 0)
			return -1;
		if (ledger_key_get(r->worker->db, hash, &b->who.key, &b->who.billing) != RERR_OK) {
			api_error(r, E_KEY_READ_FAILED);
			return -1;
		}
	}
	memcpy(b->who.hash, hash, sizeof(hash));
	b->who.from_token = true;
	b->xcashu = true;
	r->authenticated = true;	/* the token pays: it is the credential */
	req_log_extra(r, "paid_by=x-cashu");
	return 0;
}

/* The providers that may serve the request, in order. Returns 0 or -1 after
 * answering 503. */
static int
find_providers(struct req *r, struct bill *b)
{
	struct provider_route routes[PROVIDERS_MAX];
	bool anthropic = strncmp(b->ep->path, "messages", 8) == 0;
	size_t i, n;

	b->provs = providers_current(r->worker->db);
	n = providers_for(b->provs, b->ask.model, b->model->id, anthropic, routes, PROVIDERS_MAX);
	if (n == 0) {
		api_error(r, E_NO_UPSTREAM);
		return -1;
	}
	for (i = 0; i < n; i++) {
		b->cand[i].id = routes[i].p->id;
		b->cand[i].name = routes[i].p->slug;
		b->cand[i].base_url = routes[i].p->base_url;
		b->cand[i].api_key = routes[i].p->api_key;
		b->cand[i].type = routes[i].p->type;
		b->cand_model[i] = routes[i].upstream_id ? routes[i].upstream_id :
		    b->model->upstream_id;
		b->cand_fee[i] = routes[i].p->fee_ppm;
	}
	b->ncand = n;
	return 0;
}

/* The body for candidate i: the client's, with that provider's id for the
 * model (and the usage opt-in of streams). */
static void
body_for(void *ud, size_t i, const char **body, size_t *len)
{
	struct bill *b = ud;
	struct req *r = b->r;
	const char *id = b->cand_model[i];

	free(b->sent);
	b->sent = NULL;
	b->sent_len = 0;
	if (b->json != NULL) {
		/* The client's bytes go as they came unless something changed. */
		if (relay_prepare_json(b->ep, b->json, id, &b->ask) || b->dropped) {
			const char *s = json_compact(b->json, &b->sent_len);

			b->sent = xstrndup(s, b->sent_len);
		}
	} else if (b->mp != NULL && strcmp(b->ask.model, id) != 0 &&
	    multipart_replace_field(b->mp, "model", id, strlen(id), &b->sent,
	    &b->sent_len) != MULTIPART_OK) {
		/* Out of memory (the id was checked when the body was read):
		 * send the client's bytes; the provider may refuse its name. */
		log_warn("request %s: cannot rewrite the multipart model field", r->id);
		b->sent = NULL;
	}
	*body = b->sent ? b->sent : r->body ? r->body : "";
	*len = b->sent ? b->sent_len : r->body_len;
}

/* The provider does not support top-level parameter name: drop it. */
static bool
drop_param(void *ud, const char *name)
{
	struct bill *b = ud;

	/* What bounds the worst case or is the request itself never goes:
	 * the reservation was priced by it. */
	static const char *const kept[] = {
		"model", "messages", "input", "prompt", "n", "best_of",
		"max_completion_tokens", "max_output_tokens",
	};
	struct json_object *v;
	size_t i;

	if (b->json == NULL || (v = json_get(b->json, name)) == NULL)
		return false;
	for (i = 0; i < ARRAY_SIZE(kept); i++)
		if (strcmp(name, kept[i]) == 0)
			return false;
	if (strcmp(name, "max_tokens") == 0) {
		/* OpenAI's reasoning models want max_completion_tokens: the
		 * bound moves there rather than going. */
		if (json_get(b->json, "max_completion_tokens") != NULL)
			return false;
		json_object_object_add(b->json, "max_completion_tokens", json_object_get(v));
	}
	json_object_object_del(b->json, name);
	b->dropped = true;
	req_log_extra(b->r, "dropped_param=%s", name);
	return true;
}

/* The path of r after "/v1/" (or "/"), and its endpoint. */
static const struct relay_endpoint *
endpoint_of(const struct req *r, const char **rel)
{
	const char *p = r->path;
	const struct relay_endpoint *ep;

	if (strncmp(p, "/v1/", 4) == 0)
		p += 4;
	else if (*p == '/')
		p++;
	/* Anthropic's clients configured with a base URL ending in /v1 post
	 * to /v1/v1/messages (Routstr's docs do that): one more strip. */
	if (strncmp(p, "v1/", 3) == 0)
		p += 3;
	*rel = p;
	ep = relay_endpoint_find(p);
	return ep ? ep : &relay_passthrough;
}

/* Whether rel (the decoded path after "/v1/") may be appended to a
 * provider's base URL as it is: segments of letters, digits and "-_.~:@"
 * (never "." or ".." alone, never empty), nothing libcurl or the upstream
 * would read as a query, a fragment, an escape or a way out of the base
 * path. Anything else could reach an endpoint other than the one priced. */
static bool
path_ok(const char *rel)
{
	const char *p, *seg = rel;

	if (*rel == '\0' || strlen(rel) > 256)
		return false;
	for (p = rel;; p++) {
		if (*p == '/' || *p == '\0') {
			size_t n = (size_t)(p - seg);

			if (n == 0 || (n == 1 && seg[0] == '.') ||
			    (n == 2 && seg[0] == '.' && seg[1] == '.'))
				return false;
			if (*p == '\0')
				return true;
			seg = p + 1;
			continue;
		}
		if (!isalnum((unsigned char)*p) && strchr("-_.~:@", *p) == NULL)
			return false;
	}
}

void
h_proxy(struct req *r)
{
	const struct conf *c = conf_get();
	struct json_object *body = NULL;
	const char *xc, *rel;
	struct bill bill;
	struct relay_call call;
	struct relay_outcome out;
	struct multipart *mp = NULL;
	char **hdrs = NULL, model[MULTIPART_FIELD_MAX];

	memset(&bill, 0, sizeof(bill));
	memset(&call, 0, sizeof(call));
	bill.r = r;
	bill.ep = endpoint_of(r, &rel);
	req_log_extra(r, "endpoint=%s", bill.ep->name);
	if (!path_ok(rel)) {
		api_error(r, E_PATH_NOT_FOUND, r->path);
		goto out;
	}

	if (bill.ep->body == RELAY_BODY_MULTIPART) {
		mp = xcalloc(1, sizeof(*mp));
		if (read_multipart(r, &bill, mp, model, sizeof(model)) < 0)
			goto out;
	} else if (read_json(r, &body, &bill) < 0) {
		goto out;
	}
	if (find_model(r, &bill) < 0 || find_providers(r, &bill) < 0)
		goto out;
	xc = req_header(r, "x-cashu");
	if (bill.ep->free) {
		if (auth_key(r, true, &bill.who) < 0)
			goto out;
	} else if (xc && *xc && strncmp(xc, "sk-", 3) != 0) {
		if (price_request(r, &bill) < 0 || xcashu_pay(r, xc, &bill) < 0)
			goto out;
	} else if (auth_key(r, true, &bill.who) < 0 || key_headers(r, &bill.who) < 0 ||
	    price_request(r, &bill) < 0) {
		goto out;
	}
	req_log_extra(r, "kid=%.8s", bill.who.hash);
	if (!bill.ep->free && reserve(r, &bill) < 0)
		goto out;

	/* The reservation is committed; no DB lock is held from here on. */
	bill.json = body;
	bill.mp = mp;
	hdrs = forward_headers(r);

	call.ep = bill.ep;
	call.ask = &bill.ask;
	call.method = "POST";
	call.path = rel;
	call.query = r->query;
	call.public_model = bill.model->id;
	call.content_type = body != NULL ? "application/json" : req_header(r, "content-type");
	call.headers = (const char *const *)hdrs;
	call.request_id = r->id;
	call.connect_timeout_s = (long)conf_int(c, CONF_UPSTREAM_CONNECT_TIMEOUT);
	call.idle_timeout_s = (long)conf_int(c, CONF_UPSTREAM_IDLE_TIMEOUT);
	call.max_response = (size_t)conf_int(c, CONF_UPSTREAM_MAX_RESPONSE_BYTES);
	call.keepalive_us = conf_int(c, CONF_KEEPALIVE_INTERVAL) * 1000000;
	call.providers = bill.cand;
	call.nproviders = bill.ncand;
	call.body_for = body_for;
	call.drop_param = drop_param;
	call.up = r->worker->up;
	call.client = (struct relay_client){ r, client_status, client_header, client_write,
	    client_stream, client_gone };
	call.money = (struct relay_money){ &bill, money_progress, money_finish, money_headers,
	    money_stream_start, money_answer_error };
	call.cost_so_far = money_cost_so_far;

	relay_run(&call, &out);
	req_log_extra(r, "upstream_ms=%lld new_conn=%ld", (long long)out.upstream_ms,
	    out.new_connections);
	if (out.client_left)
		req_log_extra(r, "client_left=1");
	if (out.upstream_cut)
		req_log_extra(r, "upstream_cut=1");
	if (out.failed_over[0])
		req_log_extra(r, "failed_over=%s", out.failed_over);
	req_log_extra(r, "provider=%s", bill.provider);
	if (!out.answered) {
		/* No answer reached the client; the engine released the
		 * reservation (and made the X-Cashu change). */
		if (bill.change && bill.upfront == NULL)
			resp_header(r, "X-Cashu", bill.change);
		if (out.e == RERR_TIMEOUT)
			api_error(r, E_UPSTREAM_TIMEOUT);
		else if (out.e == RERR_TOO_LARGE)
			api_error(r, E_UPSTREAM_TOO_LARGE);
		else
			api_error(r, E_UPSTREAM_UNREACHABLE, out.error);
	}
out:
	if (bill.m.res_id && !bill.m.settled) {
		struct relay_meter m;
		struct relay_cost rc;

		memset(&m, 0, sizeof(m));
		money_finish(&bill, false, &m, &rc);
	}
	json_object_put(body);
	if (bill.cat)
		catalog_release(bill.cat);
	free_lines(hdrs);
	free(bill.change);
	free(bill.note);
	free(bill.upfront);
	free(bill.model_name);
	free(bill.sent);
	providers_release(bill.provs);
	free(mp);
}
