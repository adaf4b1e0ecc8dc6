/* proxy: paid relay of OpenAI-compatible requests to the upstream.
 *
 * The way of one request (DESIGN.md 4): parse the body, find the model,
 * resolve who pays, reserve the worst-case cost (committed before any
 * upstream I/O), relay, then settle the real cost exactly once. Streaming
 * answers are cut into SSE events and each event is written and flushed at
 * once; a failed write means the client left, and the upstream transfer is
 * aborted. Every exit after the reservation goes through finish(), which
 * settles or releases it. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth.h"
#include "errors.h"
#include "buf.h"
#include "catalog.h"
#include "conf.h"
#include "handlers.h"
#include "json.h"
#include "ledger.h"
#include "log.h"
#include "price.h"
#include "pricing.h"
#include "server.h"
#include "sse.h"
#include "upstream.h"
#include "usage.h"
#include "util.h"
#include "cashu/token.h"
#include "wallet_glue.h"

#define SSE_EVENT_MAX (4u << 20)	/* one SSE event from the upstream */
#define ERROR_BODY_MAX (1u << 20)	/* an upstream error body we relay */
#define PROGRESS_EVERY_US 1000000	/* how often a stream records its cost so far */
#define KEPT_HEADERS_MAX 16		/* upstream headers kept for a buffered answer */

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
	"host", "content-length", "content-type", "authorization", "x-cashu",
	"refund-lnurl", "key-expiry-time", "connection", "keep-alive",
	"proxy-authorization", "proxy-authenticate", "proxy-connection", "te", "trailer",
	"transfer-encoding", "upgrade", "expect", "accept-encoding", "cookie",
};

/* Response headers from the upstream that we pass on. */
static const char *const relayed_headers[] = {
	"cache-control", "retry-after", "x-request-id", "openai-processing-ms",
	"openai-version", "x-ratelimit-limit-requests", "x-ratelimit-limit-tokens",
	"x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens",
	"x-ratelimit-reset-requests", "x-ratelimit-reset-tokens",
};

/* The money side of one request. */
struct bill {
	struct auth who;
	const struct catalog_model *model;	/* borrowed from cat */
	struct catalog *cat;			/* our reference */
	struct pricing_params pp;
	int64_t prompt_est;	/* estimated prompt tokens */
	int64_t images;
	int64_t reserved;	/* msat held by the reservation */
	int64_t res_id;		/* 0: none held */
	bool settled;
	struct pricing_cost cost;
	int64_t balance_after;
	bool xcashu;		/* paid by the X-Cashu token of this request */
	char *change;		/* X-Cashu: the change token (owned), NULL if none */
	int64_t change_msat;
};

/* State of one relayed exchange. */
struct relay {
	struct req *r;
	struct bill *bill;
	bool client_stream;	/* the client asked for stream: true */
	bool client_usage;	/* ...and for stream_options.include_usage */
	bool sse;		/* the upstream answered 200 text/event-stream */
	bool started;		/* our response headers are out */
	int status;
	int64_t last_write_us;
	int64_t keepalive_us;
	int64_t last_progress_us;	/* 0: no progress recorded yet */
	int64_t progress_msat;	/* last cost recorded with ledger_progress */
	struct sse framer;
	struct buf data;	/* scratch: one event's data payload */
	struct buf errbody;	/* a non-SSE answer to a streaming request */
	struct json_object *usage;	/* last usage object seen (owned) */
	struct json_object *trailer;	/* held usage chunk (owned) */
	int64_t out_chars;	/* content characters relayed to the client */
	bool done_seen;
	unsigned events;
	char stream_id[64];
	char *kept[KEPT_HEADERS_MAX];	/* "name\nvalue" of headers to relay (owned) */
	size_t nkept;
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

/* "Name: value" lines for the upstream (the allowed client headers and our
 * Content-Type: the body is JSON, we parsed it); the caller frees with
 * free_lines. Header names in r are lower case. */
static char **
forward_headers(const struct req *r)
{
	char **out = xcalloc(r->nheaders + 2, sizeof(char *));
	size_t i, n = 0;

	out[n++] = xstrdup("Content-Type: application/json");
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

/* What the request costs by its upstream usage, or, without usage, by an
 * estimate from what was sent and received, capped by the reservation
 * (DESIGN.md 5: requests that produced tokens are never free). *estimatedp
 * (may be NULL) says which. */
static int64_t
cost_of(struct relay *rl, struct pricing_cost *pc, bool *estimatedp)
{
	struct bill *b = rl->bill;
	struct pricing_usage u;
	bool estimated = false;

	memset(pc, 0, sizeof(*pc));
	if (!usage_from_json(rl->usage, &u)) {
		u.input = b->prompt_est;
		u.output = pricing_tokens_from_chars(rl->out_chars);
		u.images = b->images;
		estimated = true;
	}
	if (pricing_cost(&b->pp, b->model && b->model->priced ? &b->model->price : NULL, &u,
	    pc) != RERR_OK) {
		/* Cannot price it (overflow, a count the model cannot bill): charge
		 * what was reserved, the bound the client agreed to. */
		pc->total_msat = b->reserved;
		pc->input_msat = b->reserved;
		pc->output_msat = 0;
		estimated = true;
	}
	if (estimated && pc->total_msat > b->reserved) {
		pc->total_msat = b->reserved;
		if (pc->input_msat > pc->total_msat)
			pc->input_msat = pc->total_msat;
		pc->output_msat = pc->total_msat - pc->input_msat;
	}
	if (estimatedp)
		*estimatedp = estimated;
	return pc->total_msat;
}

/* Record the cost so far (ledger_progress), which the sweeper charges if this
 * process dies before it settles: at the first delivered output, then at
 * most once per PROGRESS_EVERY_US and only when it grew, so a fast stream
 * does not write the database at every event. */
static void
record_progress(struct relay *rl)
{
	struct pricing_cost pc;
	int64_t now = mono_usec(), cost;

	if (rl->bill->res_id == 0 || rl->bill->settled)
		return;
	if (rl->last_progress_us != 0 && now - rl->last_progress_us < PROGRESS_EVERY_US)
		return;
	cost = cost_of(rl, &pc, NULL);
	if (cost <= rl->progress_msat)
		return;
	/* A failed write (a busy database) is tried again a second later,
	 * not at the next event. */
	rl->last_progress_us = now;
	if (ledger_progress(rl->r->worker->db, rl->bill->res_id, cost) == RERR_OK)
		rl->progress_msat = cost;
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
	if (fs == FUNDS_OK) {
		b->change = w.token;
		b->change_msat = w.msat;
	} else if (fs != FUNDS_NOTHING && fs != FUNDS_TOO_SMALL) {
		req_log_extra(r, "change=deferred(%s)", funds_status_name(fs));
	}
}

/* Settle (charged=true) or release the reservation, exactly once. */
static void
finish(struct relay *rl, bool charge)
{
	struct bill *b = rl->bill;
	struct ledger_request_log log;
	struct ledger_settle_result sr;
	struct pricing_usage u;
	bool estimated;
	enum rerr e;

	if (b->res_id == 0 || b->settled)
		return;
	b->settled = true;
	if (!charge) {
		e = ledger_release(rl->r->worker->db, b->res_id);
		if (e == RERR_DB) {
			usleep(100 * 1000);	/* busy database: once more, as for settle */
			e = ledger_release(rl->r->worker->db, b->res_id);
		}
		if (e != RERR_OK)
			log_error("request %s: release of reservation %lld failed: %s", rl->r->id,
			    (long long)b->res_id, rerr_name(e));
		req_log_extra(rl->r, "released=%lld", (long long)b->reserved);
		make_change(rl->r, b);
		return;
	}
	cost_of(rl, &b->cost, &estimated);
	if (estimated)
		req_log_extra(rl->r, "billed_by=estimate");
	usage_from_json(rl->usage, &u);
	memset(&log, 0, sizeof(log));
	log.request_id = rl->r->id;
	log.model = b->model ? b->model->id : "";
	log.provider = "upstream";
	log.status = rl->status;
	log.tokens_in = u.input + u.cache_read + u.cache_write;
	log.tokens_out = u.output;
	log.duration_ms = (mono_usec() - rl->r->start_us) / 1000;
	e = ledger_settle(rl->r->worker->db, b->res_id, b->cost.total_msat, &log, &sr);
	if (e == RERR_DB) {
		/* A busy database past its timeout: once more, or the
		 * reservation stays held until this process exits and the
		 * sweeper charges its recorded progress. */
		usleep(100 * 1000);
		e = ledger_settle(rl->r->worker->db, b->res_id, b->cost.total_msat, &log, &sr);
	}
	if (e != RERR_OK) {
		log_error("request %s: settle of reservation %lld failed: %s", rl->r->id,
		    (long long)b->res_id, rerr_name(e));
		return;
	}
	b->balance_after = sr.balance_after;
	req_log_extra(rl->r, "cost_msat=%lld charged=%lld", (long long)b->cost.total_msat,
	    (long long)sr.charged);
	if (sr.charged < b->cost.total_msat) {
		/* The key could not cover an overrun and the rest was forgiven:
		 * the headers and usage.cost say what was taken. The USD figure
		 * was of the whole cost, so it is left out. */
		req_log_extra(rl->r, "forgiven=%lld", (long long)sr.forgiven);
		b->cost.total_msat = sr.charged;
		if (b->cost.output_msat > sr.charged)
			b->cost.output_msat = sr.charged;
		b->cost.input_msat = sr.charged - b->cost.output_msat;
		b->cost.usd_fusd = 0;
	}
	make_change(rl->r, b);
}

/* Routstr's cost record, for usage.cost, metadata.routstr.cost and cost. */
static struct json_object *
cost_object(const struct bill *b, bool full)
{
	struct json_object *o = json_object_new_object();
	char usd[64];

	json_object_object_add(o, "base_msats", json_object_new_int64(0));
	json_object_object_add(o, "input_msats", json_object_new_int64(b->cost.input_msat));
	json_object_object_add(o, "output_msats", json_object_new_int64(b->cost.output_msat));
	json_object_object_add(o, "total_msats", json_object_new_int64(b->cost.total_msat));
	json_object_object_add(o, "cache_read_input_tokens", json_object_new_int64(0));
	json_object_object_add(o, "cache_creation_input_tokens", json_object_new_int64(0));
	json_object_object_add(o, "cache_read_msats", json_object_new_int64(0));
	json_object_object_add(o, "cache_creation_msats", json_object_new_int64(0));
	if (b->cost.usd_fusd > 0) {
		pricing_fmt_fusd(b->cost.usd_fusd, usd, sizeof(usd));
		json_object_object_add(o, "total_usd", json_object_new_double_s(0, usd));
	}
	if (full) {
		json_object_object_add(o, "sats_cost",
		    json_object_new_int64(pricing_msat_to_sat_floor(b->cost.total_msat)));
		json_object_object_add(o, "remaining_balance_msats",
		    json_object_new_int64(b->balance_after));
	}
	return o;
}

/* Add the cost fields to a completion or a usage chunk (borrowed obj). */
static void
add_cost_fields(struct json_object *obj, const struct bill *b)
{
	struct json_object *usage = json_get(obj, "usage"), *meta, *rt;

	if (usage && json_object_is_type(usage, json_type_object)) {
		json_object_object_add(usage, "cost", cost_object(b, false));
		json_object_object_add(usage, "cost_sats",
		    json_object_new_int64(pricing_msat_to_sat_floor(b->cost.total_msat)));
		json_object_object_add(usage, "remaining_balance_msats",
		    json_object_new_int64(b->balance_after));
	}
	meta = json_get(obj, "metadata");
	if (meta == NULL || !json_object_is_type(meta, json_type_object)) {
		meta = json_object_new_object();
		json_object_object_add(obj, "metadata", meta);
	}
	rt = json_object_new_object();
	json_object_object_add(rt, "cost", cost_object(b, true));
	json_object_object_add(meta, "routstr", rt);
	json_object_object_add(obj, "cost", cost_object(b, true));
}

static void
cost_headers(struct req *r, const struct bill *b)
{
	char v[64];

	snprintf(v, sizeof(v), "%lld", (long long)b->cost.total_msat);
	resp_header(r, "X-Routstr-Cost-Msats", v);
	snprintf(v, sizeof(v), "%lld", (long long)b->cost.input_msat);
	resp_header(r, "X-Routstr-Input-Cost-Msats", v);
	snprintf(v, sizeof(v), "%lld", (long long)b->cost.output_msat);
	resp_header(r, "X-Routstr-Output-Cost-Msats", v);
	if (b->cost.usd_fusd > 0) {
		pricing_fmt_fusd(b->cost.usd_fusd, v, sizeof(v));
		resp_header(r, "X-Routstr-Cost-Usd", v);
	}
}

/* ---- streaming ------------------------------------------------------ */

/* Write one event to the client and flush it. -1 when the client left. */
static int
emit(struct relay *rl, const char *p, size_t n)
{
	rl->last_write_us = mono_usec();
	return resp_stream(rl->r, p, n);
}

static int
emit_json(struct relay *rl, struct json_object *obj)
{
	size_t n;
	const char *s = json_compact(obj, &n);
	char *ev = xasprintf("data: %s\n\n", s);
	int rc = emit(rl, ev, strlen(ev));

	free(ev);
	return rc;
}

static void
keep_usage(struct relay *rl, struct json_object *usage)
{
	if (usage == NULL || !json_object_is_type(usage, json_type_object))
		return;
	json_object_put(rl->usage);
	rl->usage = json_object_get(usage);
}

/* One complete SSE event from the upstream. Comments (upstream keepalives)
 * are dropped: we send our own. A usage-only chunk is held back: it goes out
 * at the end with the cost, and only to a client that asked for usage. */
static int
on_event(void *ud, const char *ev, size_t len)
{
	struct relay *rl = ud;
	struct json_object *obj;
	struct buf out;
	int64_t n = 0;
	int rc;

	if (sse_event_is_comment(ev, len))
		return 0;
	if (sse_event_data(ev, len, &rl->data) <= 0)
		return 0;
	if (strcmp(rl->data.data, "[DONE]") == 0) {
		rl->done_seen = true;	/* sent last, after the usage chunk */
		return 0;
	}
	obj = json_parse_strict(rl->data.data, rl->data.len, NULL);
	if (obj && json_object_is_type(obj, json_type_object)) {
		struct json_object *usage = json_get(obj, "usage");
		struct json_object *choices = json_get(obj, "choices");

		n = usage_chunk_chars(obj);
		rl->out_chars += n;
		if (usage && json_object_is_type(usage, json_type_object)) {
			keep_usage(rl, usage);
			if (choices == NULL || !json_object_is_type(choices, json_type_array) ||
			    json_object_array_length(choices) == 0) {
				json_object_put(rl->trailer);
				rl->trailer = obj;
				return 0;
			}
		}
		if (rl->bill->model && strcmp(rl->bill->model->id, rl->bill->model->upstream_id) != 0 &&
		    json_get(obj, "model")) {
			json_object_object_add(obj, "model",
			    json_object_new_string(rl->bill->model->id));
			rl->events++;
			rc = emit_json(rl, obj);
			json_object_put(obj);
			if (n > 0)
				record_progress(rl);
			return rc;
		}
	}
	json_object_put(obj);
	rl->events++;
	buf_init(&out, len + 2);
	buf_append(&out, ev, len);
	buf_append(&out, "\n\n", 2);
	rc = emit(rl, out.data, out.len);
	buf_free(&out);
	if (n > 0)
		record_progress(rl);
	return rc;
}

static int
on_headers(void *ud, int status, const struct upstream_header *h, size_t nh)
{
	struct relay *rl = ud;
	const char *ct = NULL;
	size_t i;

	rl->status = status;
	for (i = 0; i < nh; i++)
		if (strcmp(h[i].name, "content-type") == 0)
			ct = h[i].value;
	if (!rl->client_stream || status != 200 || ct == NULL ||
	    strstr(ct, "text/event-stream") == NULL) {
		/* Buffered (an error, or a plain JSON answer): keep the headers
		 * worth relaying (Retry-After, rate limits) for the answer. */
		for (i = 0; i < nh && rl->nkept < ARRAY_SIZE(rl->kept); i++)
			if (in_list(h[i].name, relayed_headers, ARRAY_SIZE(relayed_headers)))
				rl->kept[rl->nkept++] = xasprintf("%s\n%s", h[i].name, h[i].value);
		return 0;
	}
	rl->sse = true;
	resp_status(rl->r, 200);
	for (i = 0; i < nh; i++)
		if (in_list(h[i].name, relayed_headers, ARRAY_SIZE(relayed_headers)))
			resp_header(rl->r, h[i].name, h[i].value);
	resp_header(rl->r, "Content-Type", "text/event-stream; charset=utf-8");
	resp_header(rl->r, "Cache-Control", "no-cache");
	resp_header(rl->r, "X-Accel-Buffering", "no");
	rl->started = true;
	rl->last_write_us = mono_usec();
	/* Headers go out now, before the first token, so the client sees the
	 * stream open even through a long silent phase. */
	return resp_flush(rl->r);
}

static int
on_data(void *ud, const char *p, size_t n)
{
	struct relay *rl = ud;
	int rc;

	if (!rl->sse)
		return buf_append(&rl->errbody, p, n) < 0 ? -1 : 0;
	rc = sse_feed(&rl->framer, p, n, on_event, rl);
	if (rc == -2)
		log_warn("request %s: upstream SSE event over %u bytes", rl->r->id, SSE_EVENT_MAX);
	return rc < 0 ? -1 : 0;
}

/* About once a second during the transfer: keep a silent stream open, and
 * record the cost so far (output that came between events and ticks). */
static int
on_tick(void *ud)
{
	struct relay *rl = ud;
	static const char ka[] = ": keepalive\n\n";
	int64_t now = mono_usec();

	if (!rl->started)
		return 0;
	if (rl->out_chars > 0)
		record_progress(rl);
	if (rl->keepalive_us <= 0 || now - rl->last_write_us < rl->keepalive_us)
		return 0;
	return emit(rl, ka, sizeof(ka) - 1);
}

/* The end of a stream that started: settle, then the usage chunk (to a
 * client that asked for it) and [DONE]. */
static void
end_stream(struct relay *rl, enum rerr e, const struct upstream_result *res)
{
	struct req *r = rl->r;

	if (e == RERR_OK && !res->aborted)
		sse_finish(&rl->framer, on_event, rl);
	finish(rl, true);
	if (rl->bill->xcashu && !r->client_gone) {
		/* Headers are gone: the change is named in a comment, and kept
		 * for POST /v1/balance/refund with the same X-Cashu header. */
		char *c = xasprintf(": x-cashu-change %s\n\n", rl->bill->change ? rl->bill->change :
		    "pending; POST /v1/balance/refund with this X-Cashu header");
		emit(rl, c, strlen(c));
		free(c);
	}
	if (r->client_gone) {
		req_log_extra(r, "client_left=1 events=%u", rl->events);
		return;
	}
	if (e != RERR_OK && !res->aborted) {
		/* The upstream broke off: tell the client in-band. */
		struct json_object *err = json_object_new_object(), *env = json_object_new_object();

		json_object_object_add(err, "message", json_object_new_string(res->error));
		json_object_object_add(err, "type", json_object_new_string("upstream_error"));
		json_object_object_add(err, "code", json_object_new_int(502));
		json_object_object_add(env, "error", err);
		emit_json(rl, env);
		json_object_put(env);
		req_log_extra(r, "upstream_cut=1");
		return;
	}
	if (rl->client_usage) {
		struct json_object *t = rl->trailer;

		if (t == NULL) {
			/* No usage chunk came: make one from what we billed. */
			struct json_object *u = json_object_new_object();
			struct pricing_usage pu;

			usage_from_json(rl->usage, &pu);
			t = json_object_new_object();
			json_object_object_add(t, "id", json_object_new_string(rl->stream_id));
			json_object_object_add(t, "object", json_object_new_string("chat.completion.chunk"));
			json_object_object_add(t, "model", json_object_new_string(
			    rl->bill->model ? rl->bill->model->id : "unknown"));
			json_object_object_add(t, "choices", json_object_new_array());
			json_object_object_add(u, "prompt_tokens", json_object_new_int64(rl->bill->prompt_est));
			json_object_object_add(u, "completion_tokens",
			    json_object_new_int64(pricing_tokens_from_chars(rl->out_chars)));
			json_object_object_add(u, "total_tokens", json_object_new_int64(
			    rl->bill->prompt_est + pricing_tokens_from_chars(rl->out_chars)));
			json_object_object_add(t, "usage", u);
			rl->trailer = t;
		}
		add_cost_fields(t, rl->bill);
		if (emit_json(rl, t) < 0)
			return;
	}
	if (rl->done_seen)
		emit(rl, "data: [DONE]\n\n", 14);
}

/* ---- whole answers -------------------------------------------------- */

/* Add the upstream headers kept by on_headers to our answer. */
static void
kept_headers(struct relay *rl)
{
	size_t i;

	for (i = 0; i < rl->nkept; i++) {
		char *nl = strchr(rl->kept[i], '\n');

		*nl = '\0';
		resp_header(rl->r, rl->kept[i], nl + 1);
		*nl = '\n';
	}
}

/* Relay an upstream error answer (4xx as it is, 5xx in our envelope). */
static void
relay_error(struct req *r, int status, const char *ct, const char *body, size_t len)
{
	char cl[32];

	if (status >= 500 || status < 200 || ct == NULL || strstr(ct, "json") == NULL) {
		struct json_object *err = json_object_new_object();
		size_t pn = len < 500 ? len : 500;

		json_object_object_add(err, "message", json_object_new_string(
		    status >= 500 ? "Upstream service error" : "Upstream request failed"));
		json_object_object_add(err, "type", json_object_new_string("upstream_error"));
		json_object_object_add(err, "code", json_object_new_int(status ? status : 502));
		json_object_object_add(err, "upstream_status", json_object_new_int(status));
		json_object_object_add(err, "upstream_body_preview", json_object_new_string_len(
		    body && utf8_valid(body, pn) ? body : "", body && utf8_valid(body, pn) ? (int)pn : 0));
		resp_error_obj(r, status >= 400 ? status : 502, err);
		return;
	}
	resp_status(r, status);
	resp_header(r, "Content-Type", ct);
	snprintf(cl, sizeof(cl), "%zu", len);
	resp_header(r, "Content-Length", cl);
	resp_write(r, body, len);
}

/* A 200 non-streamed completion: bill it, add the cost fields, write it. */
static void
relay_completion(struct relay *rl, const struct upstream_result *res)
{
	struct req *r = rl->r;
	struct json_object *answer = json_parse_strict(res->body.data, res->body.len, NULL);
	char cl[32];

	if (answer == NULL || !json_object_is_type(answer, json_type_object)) {
		/* Not JSON: relayed as it is, billed by estimate. */
		finish(rl, true);
		json_object_put(answer);
		cost_headers(r, rl->bill);
		if (rl->bill->change)
			resp_header(r, "X-Cashu", rl->bill->change);
		relay_error(r, 200, res->content_type, res->body.data, res->body.len);
		return;
	}
	keep_usage(rl, json_get(answer, "usage"));
	rl->out_chars = usage_chunk_chars(answer);
	finish(rl, true);
	kept_headers(rl);
	if (rl->bill->model && json_get(answer, "model"))
		json_object_object_add(answer, "model", json_object_new_string(rl->bill->model->id));
	add_cost_fields(answer, rl->bill);
	cost_headers(r, rl->bill);
	if (rl->bill->change)
		resp_header(r, "X-Cashu", rl->bill->change);
	(void)cl;
	resp_json(r, 200, answer);
}

/* ---- the handler ---------------------------------------------------- */

/* The body sent upstream: the model named by the catalogue's upstream id of
 * the model the request was priced by (never the client's spelling: case, a
 * date suffix, an alias), and for streams stream_options.include_usage set so
 * the usage can be read. Returns a new string the caller frees, or NULL to
 * send the client's bytes. */
static char *
rewrite_body(struct json_object *body, struct relay *rl, const struct catalog_model *m,
    size_t *len)
{
	struct json_object *so, *iu, *mv = json_get(body, "model");
	bool changed = false;

	if (m && (mv == NULL || !json_object_is_type(mv, json_type_string) ||
	    (size_t)json_object_get_string_len(mv) != strlen(m->upstream_id) ||
	    memcmp(json_object_get_string(mv), m->upstream_id, strlen(m->upstream_id)) != 0)) {
		json_object_object_add(body, "model", json_object_new_string(m->upstream_id));
		changed = true;
	}
	if (rl->client_stream) {
		so = json_get(body, "stream_options");
		iu = json_get(so, "include_usage");
		rl->client_usage = iu && json_object_get_boolean(iu);
		if (!rl->client_usage) {
			if (so == NULL || !json_object_is_type(so, json_type_object)) {
				so = json_object_new_object();
				json_object_object_add(body, "stream_options", so);
			}
			json_object_object_add(so, "include_usage", json_object_new_boolean(1));
			changed = true;
		}
	}
	if (!changed)
		return NULL;
	const char *s = json_compact(body, len);
	return xstrndup(s, *len);
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

/* Parse and check the body; find the model. Returns 0 or -1 after answering. */
static int
check_request(struct req *r, struct json_object **bodyp, struct bill *b)
{
	struct json_object *body;
	const char *why = NULL, *model;

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
	if (check_params(r, body) < 0)
		return -1;
	model = json_get_str(body, "model");
	b->cat = catalog_current(r->worker->db);
	b->model = model && b->cat ? catalog_find(b->cat, model) : NULL;
	if (b->model == NULL) {
		api_error(r, E_MODEL_NOT_FOUND, model ? model : "unknown");
		return -1;
	}
	req_log_extra(r, "model=%s", b->model->id);
	return 0;
}

/* Price the request: its worst-case cost into b->reserved. Returns 0 or -1
 * after answering (400, 503). */
static int
price_request(struct req *r, struct json_object *body, struct bill *b)
{
	const struct conf *c = conf_get();
	struct pricing_request pr;
	int64_t btc = 0, mt;
	enum rerr e;

	if (price_btc_usd(r->worker->db, r->worker->up, &btc, NULL) != RERR_OK)
		btc = 0;
	pricing_params_from_conf(c, -1, btc, &b->pp);
	if (!b->pp.fixed && (!b->model->priced || b->pp.btc_usd_micro <= 0)) {
		if (b->model->priced)
			api_error(r, E_NO_BTC_PRICE);
		else
			api_error(r, E_MODEL_UNPRICED, b->model->id);
		return -1;
	}
	b->prompt_est = pricing_tokens_from_chars(usage_prompt_chars(body, &b->images));
	memset(&pr, 0, sizeof(pr));
	pr.prompt_tokens = b->prompt_est;
	pr.images = b->images;
	pr.max_tokens = -1;
	/* Both may come; an upstream may honour either, so the larger bounds
	 * the answer (check_params refused negative ones). */
	if (json_get_i64(body, "max_tokens", &mt) == 0)
		pr.max_tokens = mt;
	if (json_get_i64(body, "max_completion_tokens", &mt) == 0 && mt > pr.max_tokens)
		pr.max_tokens = mt;
	e = pricing_max_cost(&b->pp, b->model->priced ? &b->model->price : NULL, &pr, &b->reserved);
	if (e != RERR_OK) {
		api_error(r, E_REQUEST_TOO_LARGE);
		return -1;
	}
	return 0;
}

/* Reserve b->reserved on the key. Returns 0 or -1 after answering (402, 403).
 * An X-Cashu payer refused here gets its token's value back at once. */
static int
reserve(struct req *r, struct bill *b)
{
	struct ledger_reserve_result rr;
	char need[32], have[32];
	enum rerr e;

	e = ledger_reserve(r->worker->db, b->who.hash, b->reserved, r->id, b->model->id, &rr);
	if (e == RERR_OK) {
		b->res_id = rr.id;
		req_log_extra(r, "reserved=%lld", (long long)b->reserved);
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
		api_error(r, E_BALANCE_LIMIT_EXCEEDED, (long long)rr.limit, (long long)rr.spent, (long long)rr.key_reserved, (long long)b->reserved);
		break;
	default:
		pricing_fmt_msat_as_sat(b->reserved, need, sizeof(need));
		pricing_fmt_msat_as_sat(rr.available, have, sizeof(have));
		api_error(r, E_INSUFFICIENT_BALANCE, need, (long long)b->reserved, have, (long long)rr.available);
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
	if (lnurl && strlen(lnurl) > LEDGER_TEXT_MAX) {
		api_error(r, E_INVALID_REFUND_LNURL);
		return -1;
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
	if (value < b->reserved) {
		err = json_object_new_object();
		json_object_object_add(err, "message", json_object_new_string("Insufficient balance"));
		json_object_object_add(err, "type", json_object_new_string("minimum_balance_required"));
		json_object_object_add(err, "code", json_object_new_string("insufficient_balance"));
		json_object_object_add(err, "reason", json_object_new_string("Insufficient balance"));
		json_object_object_add(err, "amount_required_msat", json_object_new_int64(b->reserved));
		json_object_object_add(err, "model", json_object_new_string(b->model->id));
		resp_header(r, "X-Cashu", token);
		resp_error_obj(r, 402, err);
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

void
h_proxy_chat(struct req *r)
{
	const struct conf *c = conf_get();
	struct json_object *body = NULL, *v;
	const char *base, *xc;
	struct bill bill;
	struct relay rl;
	struct upstream_request rq;
	struct upstream_result res;
	struct upstream_sink sink = { on_headers, on_data, on_tick };
	char **hdrs = NULL, *url = NULL, *sent = NULL;
	size_t sent_len = 0, blen;
	enum rerr e;

	memset(&bill, 0, sizeof(bill));
	memset(&rl, 0, sizeof(rl));
	memset(&res, 0, sizeof(res));
	rl.r = r;
	rl.bill = &bill;
	sse_init(&rl.framer, SSE_EVENT_MAX);
	buf_init(&rl.data, SSE_EVENT_MAX);
	buf_init(&rl.errbody, ERROR_BODY_MAX);
	snprintf(rl.stream_id, sizeof(rl.stream_id), "chatcmpl-%s", r->id);

	if (check_request(r, &body, &bill) < 0)
		goto out;
	base = conf_str(c, CONF_UPSTREAM_BASE_URL);
	if (*base == '\0') {
		api_error(r, E_NO_UPSTREAM);
		goto out;
	}
	xc = req_header(r, "x-cashu");
	if (xc && *xc && strncmp(xc, "sk-", 3) != 0) {
		if (price_request(r, body, &bill) < 0 || xcashu_pay(r, xc, &bill) < 0)
			goto out;
	} else if (auth_key(r, true, &bill.who) < 0 || key_headers(r, &bill.who) < 0 ||
	    price_request(r, body, &bill) < 0) {
		goto out;
	}
	req_log_extra(r, "kid=%.8s", bill.who.hash);
	if (reserve(r, &bill) < 0)
		goto out;

	/* The reservation is committed; no DB lock is held from here on. */
	v = json_get(body, "stream");
	rl.client_stream = v && json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
	rl.keepalive_us = conf_int(c, CONF_KEEPALIVE_INTERVAL) * 1000000;
	sent = rewrite_body(body, &rl, bill.model, &sent_len);
	blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	url = xasprintf("%.*s/chat/completions", (int)blen, base);
	hdrs = forward_headers(r);

	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.url = url;
	rq.headers = (const char *const *)hdrs;
	rq.bearer = *conf_str(c, CONF_UPSTREAM_API_KEY) ? conf_str(c, CONF_UPSTREAM_API_KEY) : NULL;
	rq.body = sent ? sent : r->body;
	rq.body_len = sent ? sent_len : r->body_len;
	rq.connect_timeout_s = (long)conf_int(c, CONF_UPSTREAM_CONNECT_TIMEOUT);
	rq.idle_timeout_s = (long)conf_int(c, CONF_UPSTREAM_IDLE_TIMEOUT);
	rq.max_response = (size_t)conf_int(c, CONF_UPSTREAM_MAX_RESPONSE_BYTES);
	rq.stream = rl.client_stream;

	e = upstream_perform(r->worker->up, &rq, &sink, &rl, &res);
	req_log_extra(r, "upstream_ms=%lld new_conn=%ld", (long long)(res.total_us / 1000),
	    res.new_connections);

	if (rl.sse) {
		end_stream(&rl, e, &res);
		goto out;
	}
	if (e != RERR_OK && !res.aborted) {
		/* No answer at all: nothing was delivered, nothing is charged. */
		finish(&rl, false);
		if (bill.change)
			resp_header(r, "X-Cashu", bill.change);
		if (e == RERR_TIMEOUT)
			api_error(r, E_UPSTREAM_TIMEOUT);
		else if (e == RERR_TOO_LARGE)
			api_error(r, E_UPSTREAM_TOO_LARGE);
		else
			api_error(r, E_UPSTREAM_UNREACHABLE, res.error);
		goto out;
	}
	if (res.status != 200) {
		finish(&rl, false);
		if (bill.change)
			resp_header(r, "X-Cashu", bill.change);
		kept_headers(&rl);
		if (rl.client_stream)
			relay_error(r, res.status, res.content_type, rl.errbody.data, rl.errbody.len);
		else
			relay_error(r, res.status, res.content_type, res.body.data, res.body.len);
		goto out;
	}
	if (rl.client_stream) {
		/* Asked to stream, got a whole answer. */
		struct upstream_result whole = res;

		whole.body = rl.errbody;
		relay_completion(&rl, &whole);
	} else {
		relay_completion(&rl, &res);
	}
out:
	/* A path above that left the reservation open (a client gone before
	 * any answer) still settles it: what was relayed is billed. */
	if (bill.res_id && !bill.settled)
		finish(&rl, rl.started || rl.events > 0);
	upstream_result_free(&res);
	json_object_put(body);
	json_object_put(rl.usage);
	json_object_put(rl.trailer);
	if (bill.cat)
		catalog_release(bill.cat);
	free_lines(hdrs);
	free(url);
	free(sent);
	free(bill.change);
	for (size_t i = 0; i < rl.nkept; i++)
		free(rl.kept[i]);
	sse_free(&rl.framer);
	buf_free(&rl.data);
	buf_free(&rl.errbody);
}
