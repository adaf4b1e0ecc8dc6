/* engine: relay one request to its provider and its answer to the client
 * (relay.h says who owns what).
 *
 * An answer is handled by what it is:
 *   - 200 text/event-stream to a request that may stream: framed into
 *     events (lib/sse.c), each handed to the endpoint and written and
 *     flushed at once; settled at the end, then the endpoint's trailer;
 *   - 200 to a binary endpoint (speech, passthrough): bytes relayed as they
 *     come, settled at the end;
 *   - any other answer: buffered (bounded), then a 200 JSON answer is
 *     metered, settled and decorated with its cost; an error is relayed
 *     and the reservation released.
 * A failed client write means the client left: the upstream transfer is
 * aborted and what was relayed is billed. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <math.h>

#include "json.h"
#include "log.h"
#include "providers.h"
#include "relay.h"
#include "upstream.h"
#include "usage.h"
#include "util.h"

#define SSE_EVENT_MAX (4u << 20)	/* one SSE event from the upstream */
#define ERROR_BODY_MAX (1u << 20)	/* an upstream answer buffered on a stream request */
#define PROGRESS_EVERY_US 1000000	/* how often a stream records its cost so far */
#define KEPT_HEADERS_MAX 16

/* Response headers from the upstream that we pass on. */
static const char *const relayed_headers[] = {
	"cache-control", "retry-after", "x-request-id", "request-id", "openai-processing-ms",
	"openai-version", "x-ratelimit-limit-requests", "x-ratelimit-limit-tokens",
	"x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens",
	"x-ratelimit-reset-requests", "x-ratelimit-reset-tokens",
	"anthropic-ratelimit-requests-limit", "anthropic-ratelimit-requests-remaining",
	"anthropic-ratelimit-tokens-limit", "anthropic-ratelimit-tokens-remaining",
};

enum mode {
	MODE_BUFFER,	/* nothing sent yet: the answer is buffered */
	MODE_SSE,	/* events relayed as they come */
	MODE_BYTES,	/* bytes relayed as they come */
};

struct engine {
	struct relay_stream s;		/* first: endpoints get &e->s */
	struct relay_call *call;
	enum mode mode;
	bool started;			/* our status and headers are out */
	bool settled;
	int status;
	char *content_type;		/* of a relayed byte answer (owned) */
	int64_t last_write_us;
	int64_t last_progress_us;
	int64_t progress_msat;
	struct sse framer;
	struct buf data;		/* scratch: one event's data */
	struct buf held;		/* a buffered answer to a streaming request */
	char *kept[KEPT_HEADERS_MAX];	/* "name\nvalue" of headers to relay (owned) */
	size_t nkept;
	struct relay_cost cost;
};

static bool
relayed(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(relayed_headers); i++)
		if (strcmp(name, relayed_headers[i]) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------- client writes */

int
relay_emit_raw(struct relay_stream *s, const char *p, size_t n)
{
	struct engine *e = (struct engine *)s;

	e->last_write_us = mono_usec();
	return s->call->client.stream(s->call->client.ud, p, n);
}

int
relay_emit_json(struct relay_stream *s, const char *event, struct json_object *obj)
{
	size_t n;
	const char *j = json_compact(obj, &n);
	char *ev = event && *event ? xasprintf("event: %s\ndata: %s\n\n", event, j) :
	    xasprintf("data: %s\n\n", j);
	int rc = relay_emit_raw(s, ev, strlen(ev));

	free(ev);
	return rc;
}

static void
put_kept_headers(struct engine *e)
{
	size_t i;

	for (i = 0; i < e->nkept; i++) {
		char *nl = strchr(e->kept[i], '\n');

		*nl = '\0';
		e->call->client.header(e->call->client.ud, e->kept[i], nl + 1);
		*nl = '\n';
	}
}

/* --------------------------------------------------------------- money */

/* Record the cost so far, which the sweeper charges if this process dies
 * before it settles: at the first output, then at most once a second and
 * only when it grew. */
static void
progress(struct engine *e)
{
	int64_t now = mono_usec(), cost;

	if (e->settled || e->call->cost_so_far == NULL)
		return;
	if (e->last_progress_us != 0 && now - e->last_progress_us < PROGRESS_EVERY_US)
		return;
	cost = e->call->cost_so_far(e->call->money.ud, &e->s.meter);
	if (cost <= e->progress_msat)
		return;
	e->last_progress_us = now;
	e->progress_msat = cost;
	e->call->money.progress(e->call->money.ud, cost);
}

/* Settle (charge) or release, exactly once. */
static void
settle(struct engine *e, bool charge)
{
	if (e->settled)
		return;
	e->settled = true;
	e->s.meter.status = e->status;
	e->cost.provider = e->call->provider ? e->call->provider->name : "none";
	e->call->money.finish(e->call->money.ud, charge, &e->s.meter, &e->cost);
}

/* ------------------------------------------------------------ streams */

/* Split an SSE event into its "event:" name (copied into name) and hand its
 * data to the endpoint. */
static int
on_event(void *ud, const char *ev, size_t len)
{
	struct engine *e = ud;
	struct relay_stream *s = &e->s;
	const struct relay_endpoint *ep = e->call->ep;
	struct json_object *obj;
	char name[64] = "";
	enum relay_ev act = RELAY_EV_EMIT;
	int64_t n = 0;
	int rc;

	if (sse_event_is_comment(ev, len))
		return 0;	/* upstream keepalives: we send our own */
	if (len > 6 && strncmp(ev, "event:", 6) == 0) {
		const char *p = ev + 6, *nl = memchr(ev, '\n', len);
		size_t k;

		while (p < ev + len && *p == ' ')
			p++;
		k = (size_t)((nl ? nl : ev + len) - p);
		if (k >= sizeof(name))
			k = sizeof(name) - 1;
		memcpy(name, p, k);
		name[k] = '\0';
	}
	if (sse_event_data(ev, len, &e->data) <= 0)
		return 0;
	if (strcmp(e->data.data, "[DONE]") == 0) {
		s->done_seen = true;	/* sent last, after the trailer */
		return 0;
	}
	obj = json_parse_strict(e->data.data, e->data.len, NULL);
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		/* Not an object: relayed as it came. */
		json_object_put(obj);
		s->events++;
		rc = relay_emit_raw(s, ev, len);
		return rc < 0 ? rc : relay_emit_raw(s, "\n\n", 2);
	}
	if (ep->out_chars)
		n = ep->out_chars(obj, name);
	s->meter.out_chars += n;
	if (n > 0)
		s->meter.any_output = true;
	if (ep->event)
		act = ep->event(s, name, obj);
	if (act == RELAY_EV_HOLD) {
		json_object_put(s->trailer);
		s->trailer = obj;
		snprintf(s->trailer_event, sizeof(s->trailer_event), "%s", name);
		return 0;
	}
	if (act == RELAY_EV_DROP) {
		json_object_put(obj);
		return 0;
	}
	if (json_get(obj, "model") && strcmp(e->call->public_model, json_get_str(obj, "model") ?
	    json_get_str(obj, "model") : "") != 0)
		json_object_object_add(obj, "model", json_object_new_string(e->call->public_model));
	/* Routstr names the provider on every event. */
	if (e->call->provider && json_get(obj, "provider") == NULL)
		json_object_object_add(obj, "provider",
		    json_object_new_string(e->call->provider->name));
	s->events++;
	rc = relay_emit_json(s, name, obj);
	json_object_put(obj);
	if (n > 0)
		progress(e);
	return rc;
}

/* Our status and headers for a relayed 200: the upstream's relayable ones,
 * flushed at once so the client sees the answer open through a silent
 * phase. */
static int
start(struct engine *e, const struct upstream_header *h, size_t nh, const char *ct)
{
	const struct relay_client *c = &e->call->client;
	size_t i;

	c->status(c->ud, 200);
	for (i = 0; i < nh; i++)
		if (relayed(h[i].name))
			c->header(c->ud, h[i].name, h[i].value);
	if (e->mode == MODE_SSE) {
		c->header(c->ud, "Content-Type", "text/event-stream; charset=utf-8");
		c->header(c->ud, "Cache-Control", "no-cache");
	} else {
		c->header(c->ud, "Content-Type", ct ? ct : "application/octet-stream");
	}
	c->header(c->ud, "X-Accel-Buffering", "no");
	if (e->call->money.stream_start)
		e->call->money.stream_start(e->call->money.ud);
	e->started = true;
	e->last_write_us = mono_usec();
	return c->stream(c->ud, "", 0);
}

static int
on_headers(void *ud, int status, const struct upstream_header *h, size_t nh)
{
	struct engine *e = ud;
	const struct relay_call *call = e->call;
	const char *ct = NULL;
	size_t i;

	e->status = status;
	for (i = 0; i < nh; i++)
		if (strcmp(h[i].name, "content-type") == 0)
			ct = h[i].value;
	if (status == 200 && ct && strstr(ct, "text/event-stream") && call->ep->streams)
		e->mode = MODE_SSE;
	else if (status == 200 && call->ep->binary)
		e->mode = MODE_BYTES;
	else
		e->mode = MODE_BUFFER;
	if (e->mode == MODE_BUFFER) {
		/* Keep what is worth relaying (Retry-After, rate limits). */
		for (i = 0; i < nh && e->nkept < ARRAY_SIZE(e->kept); i++)
			if (relayed(h[i].name))
				e->kept[e->nkept++] = xasprintf("%s\n%s", h[i].name, h[i].value);
		return 0;
	}
	free(e->content_type);
	e->content_type = ct ? xstrdup(ct) : NULL;
	return start(e, h, nh, ct);
}

static int
on_data(void *ud, const char *p, size_t n)
{
	struct engine *e = ud;
	int rc;

	switch (e->mode) {
	case MODE_SSE:
		rc = sse_feed(&e->framer, p, n, on_event, e);
		if (rc == -2)
			log_warn("request %s: upstream SSE event over %u bytes",
			    e->call->request_id, SSE_EVENT_MAX);
		return rc < 0 ? -1 : 0;
	case MODE_BYTES:
		e->s.meter.any_output = true;
		/* An API we do not know: its bytes are the estimate of its
		 * output (speech is billed by its input). */
		if (e->call->ep == &relay_passthrough)
			e->s.meter.out_chars += (int64_t)n;
		return relay_emit_raw(&e->s, p, n) < 0 ? -1 : 0;
	default:
		return buf_append(&e->held, p, n) < 0 ? -1 : 0;
	}
}

/* About once a second: keep a silent stream open, record the cost so far. */
static int
on_tick(void *ud)
{
	struct engine *e = ud;
	static const char ka[] = ": keepalive\n\n";
	int64_t now = mono_usec();

	if (!e->started)
		return 0;
	if (e->s.meter.any_output)
		progress(e);
	if (e->mode != MODE_SSE || e->call->keepalive_us <= 0 ||
	    now - e->last_write_us < e->call->keepalive_us)
		return 0;
	return relay_emit_raw(&e->s, ka, sizeof(ka) - 1);
}

/* The end of a stream that started: settle, then the endpoint's trailer. */
static void
end_stream(struct engine *e, enum rerr rc, const struct upstream_result *res,
    struct relay_outcome *out)
{
	const struct relay_client *c = &e->call->client;

	if (rc == RERR_OK && !res->aborted && e->mode == MODE_SSE)
		sse_finish(&e->framer, on_event, e);
	settle(e, true);
	if (c->gone(c->ud)) {
		out->client_left = true;
		return;
	}
	if (e->mode == MODE_SSE && e->cost.note) {
		char *note = xasprintf(": %s\n\n", e->cost.note);

		relay_emit_raw(&e->s, note, strlen(note));
		free(note);
	}
	if (rc != RERR_OK && !res->aborted) {
		out->upstream_cut = true;
		if (e->mode == MODE_SSE) {
			/* The upstream broke off: tell the client in-band. */
			struct json_object *err = json_object_new_object();
			struct json_object *env = json_object_new_object();

			json_object_object_add(err, "message", json_object_new_string(res->error));
			json_object_object_add(err, "type", json_object_new_string("upstream_error"));
			json_object_object_add(err, "code", json_object_new_int(502));
			json_object_object_add(env, "error", err);
			relay_emit_json(&e->s, NULL, env);
			json_object_put(env);
		}
		return;
	}
	if (e->mode == MODE_SSE && e->call->ep->stream_end)
		e->call->ep->stream_end(&e->s, &e->cost);
}

/* ------------------------------------------------------ whole answers */

/* The value of a kept upstream header, or NULL. */
static const char *
kept_header(const struct engine *e, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < e->nkept; i++)
		if (strncmp(e->kept[i], name, n) == 0 && e->kept[i][n] == '\n')
			return e->kept[i] + n + 1;
	return NULL;
}

/* The message of an upstream error body (Routstr's order: error.message,
 * error.detail, error.error, message, detail), or NULL. */
static const char *
error_message(struct json_object *o)
{
	static const char *const inner[] = { "message", "detail", "error" };
	static const char *const outer[] = { "message", "detail" };
	struct json_object *err = json_get(o, "error");
	size_t i;

	for (i = 0; i < ARRAY_SIZE(inner); i++)
		if (json_get_str(err, inner[i]))
			return json_get_str(err, inner[i]);
	for (i = 0; i < ARRAY_SIZE(outer); i++)
		if (json_get_str(o, outer[i]))
			return json_get_str(o, outer[i]);
	return NULL;
}

/* A copy of s (n bytes) with OpenAI organisation ids redacted. */
static char *
redacted(const char *s, size_t n)
{
	size_t orgs = 0;
	const char *p;
	char *out;

	for (p = s; (p = memmem(p, n - (size_t)(p - s), "org-", 4)) != NULL; p += 4)
		orgs++;
	out = xcalloc(1, n + orgs * 10 + 1);
	memcpy(out, s, n);
	relay_redact_org(out);
	return out;
}

/* Relay an upstream error answer as Routstr does (routstr-proxy.md 7.4,
 * 7.5): a JSON error below 500 verbatim (organisation ids redacted; a rate
 * limit's error.code set to UPSTREAM_RATE_LIMIT with its details), anything
 * else in the envelope naming the upstream's status. */
static void
relay_error(struct engine *e, int status, const char *ct, const char *body, size_t len)
{
	const struct relay_call *call = e->call;
	const struct relay_client *c = &call->client;
	struct json_object *o = NULL, *env, *err, *details = NULL;
	const char *msg = NULL, *j, *ptype;
	char *red = NULL, *preview, cl[32], ra[32];
	bool json = ct && (strstr(ct, "application/json") || strstr(ct, "text/json") ||
	    strstr(ct, "+json")), rate;
	/* The provider refused the node's own key: not the client's doing,
	 * and an SDK must not read it as its key being bad. */
	bool creds = status == 401 || status == 403;
	double secs = -1;
	size_t n, pn = len < 500 ? len : 500;

	put_kept_headers(e);
	if (json)
		o = json_parse_strict(body, len, NULL);
	if (o != NULL && json_object_is_type(o, json_type_object))
		msg = error_message(o);
	preview = xstrndup(body && utf8_valid(body, pn) ? body : "", body && utf8_valid(body, pn) ?
	    pn : 0);
	if (msg == NULL && *preview)
		msg = preview;
	red = msg ? redacted(msg, strlen(msg)) : NULL;
	rate = relay_is_rate_limit(status, red);
	if (rate) {
		details = relay_rate_details(red, kept_header(e, "retry-after"), &secs);
		if (secs >= 0 && kept_header(e, "retry-after") == NULL) {
			snprintf(ra, sizeof(ra), "%.0f", secs < 1 ? 1 : ceil(secs));
			c->header(c->ud, "Retry-After", ra);
		}
	}
	if (call->money.answer_error && call->money.answer_error(call->money.ud, status))
		goto out;
	if (!creds && status >= 200 && status < 500 && o != NULL &&
	    json_object_is_type(o, json_type_object)) {
		char *text;

		err = json_get(o, "error");
		if (rate && err && json_object_is_type(err, json_type_object)) {
			json_object_object_add(err, "code", json_object_new_string("UPSTREAM_RATE_LIMIT"));
			json_object_object_add(err, "details", json_object_get(details));
		}
		j = rate ? json_compact(o, &n) : body;
		n = rate ? n : len;
		text = redacted(j, n);
		c->status(c->ud, status);
		c->header(c->ud, "Content-Type", ct);
		snprintf(cl, sizeof(cl), "%zu", strlen(text));
		c->header(c->ud, "Content-Length", cl);
		c->write(c->ud, text, strlen(text));
		free(text);
		goto out;
	}
	err = json_object_new_object();
	ptype = call->provider && call->provider->type ? call->provider->type : "upstream";
	if (status >= 500 || creds) {
		char *m = xasprintf("Upstream %s returned %d for model %s: %.200s", ptype, status,
		    call->public_model, *preview ? preview : "<empty>");
		char *rm = redacted(m, strlen(m));

		json_object_object_add(err, "message", json_object_new_string(rm));
		free(rm);
		free(m);
	} else {
		json_object_object_add(err, "message", json_object_new_string(red ? red :
		    "Upstream returned a non-JSON error response"));
	}
	json_object_object_add(err, "type", json_object_new_string("upstream_error"));
	json_object_object_add(err, "code", rate ? json_object_new_string("UPSTREAM_RATE_LIMIT") :
	    json_object_new_int(status ? status : 502));
	json_object_object_add(err, "upstream_status", json_object_new_int(status));
	json_object_object_add(err, "upstream_content_type", ct ? json_object_new_string(ct) : NULL);
	json_object_object_add(err, "upstream_body_preview", *preview ?
	    json_object_new_string(preview) : NULL);
	if (rate)
		json_object_object_add(err, "details", json_object_get(details));
	env = json_object_new_object();
	json_object_object_add(env, "error", err);
	json_object_object_add(env, "request_id", json_object_new_string(call->request_id));
	j = json_compact(env, &n);
	c->status(c->ud, creds ? 502 : status >= 400 ? status : 502);
	c->header(c->ud, "Content-Type", "application/json");
	c->write(c->ud, j, n);
	json_object_put(env);
out:
	json_object_put(details);
	json_object_put(o);
	free(red);
	free(preview);
}

/* A 200 answer that was buffered: meter it, settle, decorate, write. */
static void
relay_whole(struct engine *e, const char *ct, const char *body, size_t len)
{
	const struct relay_call *call = e->call;
	const struct relay_client *c = &call->client;
	struct relay_meter *m = &e->s.meter;
	struct json_object *answer = NULL, *data;
	const char *j;
	size_t n;

	if (ct && strstr(ct, "json"))
		answer = json_parse_strict(body, len, NULL);
	if (answer == NULL || !json_object_is_type(answer, json_type_object)) {
		/* Not a JSON object (a transcript as text, say): relayed as
		 * it is, billed by estimate. */
		json_object_put(answer);
		m->out_chars += usage_codepoints(body, len);
		m->any_output = len > 0;
		settle(e, true);
		put_kept_headers(e);
		call->money.headers(call->money.ud, &e->cost);
		c->status(c->ud, 200);
		c->header(c->ud, "Content-Type", ct ? ct : "application/octet-stream");
		c->write(c->ud, body, len);
		return;
	}
	if (json_get(answer, "usage") && json_object_is_type(json_get(answer, "usage"),
	    json_type_object)) {
		json_object_put(m->usage);
		m->usage = json_object_get(json_get(answer, "usage"));
		m->usage_final = true;
	}
	if (call->ep->out_chars)
		m->out_chars += call->ep->out_chars(answer, NULL);
	data = json_get(answer, "data");
	if (call->ep->images && data && json_object_is_type(data, json_type_array))
		m->images = (int64_t)json_object_array_length(data);
	m->any_output = true;
	settle(e, true);
	put_kept_headers(e);
	if (json_get(answer, "model"))
		json_object_object_add(answer, "model", json_object_new_string(call->public_model));
	relay_add_cost_fields(answer, &e->cost);
	call->money.headers(call->money.ud, &e->cost);
	j = json_compact(answer, &n);
	c->status(c->ud, 200);
	c->header(c->ud, "Content-Type", "application/json");
	c->write(c->ud, j, n);
	json_object_put(answer);
}

/* ------------------------------------------------------------ relay_run */

static char *
upstream_url(const struct relay_call *call)
{
	const char *base = call->provider->base_url;
	size_t blen = strlen(base);

	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	return xasprintf("%.*s/%s%s%s", (int)blen, base, call->path,
	    call->query && *call->query ? "?" : "", call->query ? call->query : "");
}

/* The header lines sent: the client's forwarded ones, the body's type, and
 * the provider's credential in the form its type expects. */
static char **
upstream_headers(const struct relay_call *call, const char **bearer)
{
	const struct relay_provider *p = call->provider;
	bool anthropic = p->type && strcmp(p->type, "anthropic") == 0, version = false;
	size_t n = 0, i;
	char **v;

	for (i = 0; call->headers && call->headers[i]; i++) {
		if (strncasecmp(call->headers[i], "anthropic-version:", 18) == 0)
			version = true;
		n++;
	}
	v = xcalloc(n + 5, sizeof(*v));
	n = 0;
	for (i = 0; call->headers && call->headers[i]; i++)
		v[n++] = xstrdup(call->headers[i]);
	if (call->content_type)
		v[n++] = xasprintf("Content-Type: %s", call->content_type);
	if (anthropic && !version)
		v[n++] = xstrdup("anthropic-version: 2023-06-01");
	*bearer = NULL;
	if (p->api_key && *p->api_key) {
		if (anthropic)
			v[n++] = xasprintf("x-api-key: %s", p->api_key);
		else
			*bearer = p->api_key;
	}
	return v;
}

/* Whether an answer of this status is the provider's trouble, worth
 * another provider: 5xx, 429 (rate limited), 402 (out of credit). */
static bool
failover_status(int status)
{
	/* 401/403: the provider refused the node's key; 404: it does not
	 * have the model. Another provider may do better (Routstr too). */
	return status >= 500 || status == 429 || status == 402 || status == 401 ||
	    status == 403 || status == 404;
}

/* The parameter an upstream 400 says it does not support (OpenAI's
 * "unsupported_parameter" code with its param, or the message "Unsupported
 * parameter: 'x'"), copied into name; false if it says nothing of the sort. */
static bool
unsupported_param(const char *ct, const char *body, size_t len, char *name, size_t nsz)
{
	struct json_object *o, *err;
	const char *code, *param, *msg, *q, *end;
	bool found = false;

	if (ct == NULL || strstr(ct, "json") == NULL ||
	    (o = json_parse_strict(body, len, NULL)) == NULL)
		return false;
	err = json_get(o, "error");
	code = json_get_str(err, "code");
	param = json_get_str(err, "param");
	msg = json_get_str(err, "message");
	if (code && strcmp(code, "unsupported_parameter") == 0 && param && *param) {
		snprintf(name, nsz, "%s", param);
		found = true;
	} else if (msg && (q = strstr(msg, "Unsupported parameter: '")) != NULL) {
		q += strlen("Unsupported parameter: '");
		if ((end = strchr(q, '\'')) != NULL && end > q && (size_t)(end - q) < nsz) {
			memcpy(name, q, (size_t)(end - q));
			name[end - q] = '\0';
			found = true;
		}
	}
	json_object_put(o);
	return found;
}

/* One exchange with call->provider. Fills res; e holds what came. */
static enum rerr
attempt(struct engine *e, struct relay_call *call, size_t i, struct upstream_result *res)
{
	struct upstream_request rq;
	struct upstream_sink sink = { on_headers, on_data, on_tick };
	const char *bearer, *body = "";
	char *url, **hdrs;
	size_t len = 0, k;
	enum rerr rc;

	call->body_for(call->money.ud, i, &body, &len);
	url = upstream_url(call);
	hdrs = upstream_headers(call, &bearer);
	memset(&rq, 0, sizeof(rq));
	rq.method = call->method;
	rq.url = url;
	rq.headers = (const char *const *)hdrs;
	rq.bearer = bearer;
	rq.body = body;
	rq.body_len = len;
	rq.connect_timeout_s = call->connect_timeout_s;
	rq.idle_timeout_s = call->idle_timeout_s;
	rq.max_response = call->max_response;
	rq.stream = true;	/* bytes come to on_data; buffered there when need be */
	rc = upstream_perform(call->up, &rq, &sink, e, res);
	for (k = 0; hdrs[k]; k++)
		free(hdrs[k]);
	free(hdrs);
	free(url);
	return rc;
}

/* Forget what a failed attempt left, before the next one. */
static void
engine_reset(struct engine *e)
{
	size_t i;

	for (i = 0; i < e->nkept; i++)
		free(e->kept[i]);
	e->nkept = 0;
	e->held.len = 0;
	e->status = 0;
	e->mode = MODE_BUFFER;
	sse_free(&e->framer);
	sse_init(&e->framer, SSE_EVENT_MAX);
	json_object_put(e->s.meter.usage);
	memset(&e->s.meter, 0, sizeof(e->s.meter));
}

void
relay_run(struct relay_call *call, struct relay_outcome *out)
{
	struct engine e;
	struct upstream_result res;
	char param[128];
	enum rerr rc = RERR_UPSTREAM;
	size_t i, fo = 0;
	bool retried = false;

	memset(out, 0, sizeof(*out));
	memset(&e, 0, sizeof(e));
	memset(&res, 0, sizeof(res));
	e.call = call;
	e.s.call = call;
	snprintf(e.s.stream_id, sizeof(e.s.stream_id), "%s-%s",
	    call->ep->chunk_object && strstr(call->ep->chunk_object, "chat") ? "chatcmpl" : "cmpl",
	    call->request_id);
	sse_init(&e.framer, SSE_EVENT_MAX);
	buf_init(&e.data, SSE_EVENT_MAX);
	buf_init(&e.held, call->max_response ? call->max_response : ERROR_BODY_MAX);

	for (i = 0; i < call->nproviders; i++) {
		bool last = i + 1 == call->nproviders, failed;

		call->provider = &call->providers[i];
		if (i > 0 || retried) {
			upstream_result_free(&res);
			memset(&res, 0, sizeof(res));
			engine_reset(&e);
		}
		rc = attempt(&e, call, i, &res);
		out->attempts++;
		out->upstream_ms += res.total_us / 1000;
		out->new_connections += res.new_connections;
		if (e.started)
			break;	/* the client has it: no going back */
		/* Routstr's retry: a provider that refuses a parameter gets the
		 * request again without it, once. */
		if (rc == RERR_OK && e.status == 400 && !retried &&
		    unsupported_param(res.content_type, e.held.data, e.held.len, param,
		    sizeof(param)) && call->drop_param &&
		    call->drop_param(call->money.ud, param)) {
			retried = true;
			i--;
			continue;
		}
		failed = (rc != RERR_OK && !res.aborted) || (rc == RERR_OK && failover_status(e.status));
		providers_report(call->provider->id, !failed);
		if (!failed || last)
			break;
		fo += (size_t)snprintf(out->failed_over + fo, fo < sizeof(out->failed_over) ?
		    sizeof(out->failed_over) - fo : 0, "%s%s", fo ? "," : "", call->provider->name);
		if (fo >= sizeof(out->failed_over))
			fo = sizeof(out->failed_over) - 1;
		log_info("request %s: provider %s failed (%s), trying the next", call->request_id,
		    call->provider->name, rc != RERR_OK ? res.error : "status");
		retried = false;
	}
	out->status = res.status ? res.status : e.status;
	out->e = rc;

	if (call->nproviders == 0) {
		settle(&e, false);
		snprintf(out->error, sizeof(out->error), "no provider serves this model");
	} else if (e.started) {
		out->answered = true;
		end_stream(&e, rc, &res, out);
	} else if (rc != RERR_OK && !res.aborted) {
		/* No answer at all: nothing was delivered, nothing is charged. */
		settle(&e, false);
		snprintf(out->error, sizeof(out->error), "%s", res.error);
	} else if (rc == RERR_TOO_LARGE || res.aborted) {
		/* Past max_response (buffer full): refused. A 200 was made and
		 * paid upstream: billed by what came (capped by the
		 * reservation), so a huge answer is no free request. */
		if (e.status >= 200 && e.status < 300) {
			e.s.meter.out_chars += (int64_t)e.held.len;
			e.s.meter.any_output = true;
		}
		settle(&e, e.status >= 200 && e.status < 300);
		out->e = RERR_TOO_LARGE;
	} else if (e.status >= 200 && e.status < 300) {
		out->answered = true;
		relay_whole(&e, res.content_type, e.held.data, e.held.len);
	} else {
		out->answered = true;
		settle(&e, false);
		call->money.headers(call->money.ud, &e.cost);
		relay_error(&e, e.status, res.content_type, e.held.data, e.held.len);
	}
	if (!e.settled)
		settle(&e, e.started);

	upstream_result_free(&res);
	free(e.content_type);
	json_object_put(e.s.meter.usage);
	json_object_put(e.s.trailer);
	for (i = 0; i < e.nkept; i++)
		free(e.kept[i]);
	sse_free(&e.framer);
	buf_free(&e.data);
	buf_free(&e.held);
}
