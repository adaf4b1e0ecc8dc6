/* proxy: relay of OpenAI-compatible requests to the configured upstream.
 * Non-streaming answers are read whole (capped) and written with a
 * Content-Length; streaming answers are cut into SSE events and each event is
 * written and flushed at once. A failed write means the client left: the
 * upstream transfer is aborted. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "handlers.h"
#include "json.h"
#include "log.h"
#include "server.h"
#include "sse.h"
#include "upstream.h"
#include "util.h"

#define SSE_EVENT_MAX (4u << 20)	/* one SSE event from the upstream */
#define ERROR_BODY_MAX (1u << 20)	/* an upstream error body we relay */

/* Request headers never forwarded: ours, hop-by-hop, and the client's
 * credentials (the provider key replaces them). */
static const char *const dropped_headers[] = {
	"host", "content-length", "authorization", "x-cashu", "refund-lnurl",
	"key-expiry-time", "connection", "keep-alive", "proxy-authorization",
	"proxy-authenticate", "proxy-connection", "te", "trailer", "transfer-encoding",
	"upgrade", "expect", "accept-encoding", "cookie", "x-forwarded-host",
};

/* Response headers from the upstream that we pass on. */
static const char *const relayed_headers[] = {
	"content-type", "cache-control", "retry-after", "x-request-id", "openai-processing-ms",
	"openai-version", "x-ratelimit-limit-requests", "x-ratelimit-limit-tokens",
	"x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens",
	"x-ratelimit-reset-requests", "x-ratelimit-reset-tokens",
};

/* State of one relayed exchange. */
struct relay {
	struct req *r;
	bool client_stream;	/* the client asked for stream: true */
	bool client_usage;	/* ...and for stream_options.include_usage */
	bool sse;		/* the upstream answered 200 text/event-stream */
	bool started;		/* our response headers are out */
	int status;
	int64_t last_write_us;
	int64_t keepalive_us;
	struct sse framer;
	struct buf data;	/* scratch: one event's data payload */
	struct buf errbody;	/* a non-SSE answer to a streaming request */
	int64_t prompt_tokens, completion_tokens;
	bool usage_seen;
	bool done_seen;
	unsigned events;
};

static bool
is_dropped(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dropped_headers); i++)
		if (strcmp(name, dropped_headers[i]) == 0)
			return true;
	return strncmp(name, "x-routstr-", 10) == 0;
}

static bool
is_relayed(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(relayed_headers); i++)
		if (strcmp(name, relayed_headers[i]) == 0)
			return true;
	return false;
}

/* "Name: value" lines for the upstream; the caller frees each and the array. */
static char **
forward_headers(const struct req *r)
{
	char **out = xcalloc(r->nheaders + 1, sizeof(char *));
	size_t i, n = 0;

	for (i = 0; i < r->nheaders; i++) {
		if (is_dropped(r->headers[i].name))
			continue;
		out[n++] = xasprintf("%s: %s", r->headers[i].name, r->headers[i].value);
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

static void
take_usage(struct relay *rl, struct json_object *usage)
{
	int64_t v;

	if (usage == NULL || !json_object_is_type(usage, json_type_object))
		return;
	rl->usage_seen = true;
	if (json_get_i64(usage, "prompt_tokens", &v) == 0)
		rl->prompt_tokens = v;
	if (json_get_i64(usage, "completion_tokens", &v) == 0)
		rl->completion_tokens = v;
}

/* Write one event to the client and flush it. -1 when the client left. */
static int
emit(struct relay *rl, const char *p, size_t n)
{
	rl->last_write_us = mono_usec();
	return resp_stream(rl->r, p, n);
}

/* One complete SSE event from the upstream. Comments (upstream keepalives)
 * are dropped: we send our own. The usage-only chunk reaches the client only
 * if it asked for it. */
static int
on_event(void *ud, const char *ev, size_t len)
{
	struct relay *rl = ud;
	struct json_object *obj = NULL;
	struct buf out;
	int lines, rc;

	if (sse_event_is_comment(ev, len))
		return 0;
	lines = sse_event_data(ev, len, &rl->data);
	if (lines <= 0)
		return 0;
	if (strcmp(rl->data.data, "[DONE]") == 0)
		rl->done_seen = true;
	else if (memmem(rl->data.data, rl->data.len, "\"usage\"", 7) != NULL) {
		obj = json_parse_strict(rl->data.data, rl->data.len, NULL);
		if (obj) {
			struct json_object *usage = json_get(obj, "usage");
			struct json_object *choices = json_get(obj, "choices");

			take_usage(rl, usage);
			if (usage && json_object_is_type(usage, json_type_object) && !rl->client_usage &&
			    (choices == NULL || json_object_array_length(choices) == 0)) {
				json_object_put(obj);
				return 0;	/* the client did not ask for a usage chunk */
			}
			json_object_put(obj);
		}
	}
	rl->events++;
	buf_init(&out, len + 2);
	buf_append(&out, ev, len);
	buf_append(&out, "\n\n", 2);
	rc = emit(rl, out.data, out.len);
	buf_free(&out);
	return rc;
}

static int
on_headers(void *ud, int status, const struct upstream_header *h, size_t nh)
{
	struct relay *rl = ud;
	size_t i;
	const char *ct = NULL;

	rl->status = status;
	for (i = 0; i < nh; i++)
		if (strcmp(h[i].name, "content-type") == 0)
			ct = h[i].value;
	if (!rl->client_stream)
		return 0;	/* buffered by upstream_perform */
	if (status != 200 || ct == NULL || strstr(ct, "text/event-stream") == NULL)
		return 0;	/* an error or a plain JSON answer: buffered in on_data */
	rl->sse = true;
	resp_status(rl->r, 200);
	for (i = 0; i < nh; i++)
		if (is_relayed(h[i].name) && strcmp(h[i].name, "content-type") != 0)
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

/* About once a second during the transfer: keep a silent stream open. */
static int
on_tick(void *ud)
{
	struct relay *rl = ud;
	static const char ka[] = ": keepalive\n\n";

	if (!rl->started || rl->keepalive_us <= 0)
		return 0;
	if (mono_usec() - rl->last_write_us < rl->keepalive_us)
		return 0;
	return emit(rl, ka, sizeof(ka) - 1);
}

/* Relay a complete upstream answer (non-streaming, or an error). */
static void
relay_whole(struct req *r, int status, const char *ct, const char *body, size_t len)
{
	char cl[32];

	if (status >= 500 || status < 200) {
		struct json_object *err = json_object_new_object();
		char preview[201];
		size_t pn = len < 200 ? len : 200;

		memcpy(preview, body ? body : "", pn);
		preview[pn] = '\0';
		json_object_object_add(err, "message", json_object_new_string_len(
		    preview, utf8_valid(preview, pn) ? (int)pn : 0));
		json_object_object_add(err, "type", json_object_new_string("upstream_error"));
		json_object_object_add(err, "code", json_object_new_int(status ? status : 502));
		json_object_object_add(err, "upstream_status", json_object_new_int(status));
		resp_error_obj(r, status >= 500 ? status : 502, err);
		return;
	}
	resp_status(r, status);
	resp_header(r, "Content-Type", ct ? ct : "application/json");
	snprintf(cl, sizeof(cl), "%zu", len);
	resp_header(r, "Content-Length", cl);
	resp_write(r, body, len);
}

/* The body sent upstream: the client's bytes unchanged, unless a stream
 * needs stream_options.include_usage (so the usage can be read). Returns a
 * new string the caller frees, or NULL to send the client's bytes. */
static char *
rewrite_body(struct json_object *body, struct relay *rl, size_t *len)
{
	struct json_object *so, *iu;
	const char *s;

	if (!rl->client_stream)
		return NULL;
	so = json_get(body, "stream_options");
	iu = json_get(so, "include_usage");
	rl->client_usage = iu && json_object_get_boolean(iu);
	if (rl->client_usage)
		return NULL;
	if (so == NULL || !json_object_is_type(so, json_type_object)) {
		so = json_object_new_object();
		json_object_object_add(body, "stream_options", so);
	}
	json_object_object_add(so, "include_usage", json_object_new_boolean(1));
	s = json_compact(body, len);
	return xstrndup(s, *len);
}

void
h_proxy_chat(struct req *r)
{
	const struct conf *c = conf_get();
	struct json_object *body = NULL, *v;
	const char *why = NULL, *base, *model;
	struct relay rl;
	struct upstream_request rq;
	struct upstream_result res;
	struct upstream_sink sink = { on_headers, on_data, on_tick };
	char **hdrs = NULL, *url = NULL, *sent = NULL;
	size_t sent_len = 0, blen;
	enum rerr e;

	memset(&rl, 0, sizeof(rl));
	memset(&res, 0, sizeof(res));
	rl.r = r;
	sse_init(&rl.framer, SSE_EVENT_MAX);
	buf_init(&rl.data, SSE_EVENT_MAX);
	buf_init(&rl.errbody, ERROR_BODY_MAX);

	body = json_parse_strict(r->body ? r->body : "", r->body_len, &why);
	if (body == NULL) {
		resp_error(r, 400, "invalid_request_error", "invalid_json",
		    "Request body is not valid JSON: %s", why);
		goto out;
	}
	if (!json_object_is_type(body, json_type_object)) {
		resp_error(r, 400, "invalid_request_error", "invalid_json",
		    "Request body must be a JSON object");
		goto out;
	}
	v = json_get(body, "max_tokens");
	if (v && !json_object_is_type(v, json_type_int)) {
		resp_error(r, 400, "invalid_request_error", "invalid_max_tokens",
		    "max_tokens must be an integer");
		goto out;
	}
	model = json_get_str(body, "model");
	if (model == NULL || *model == '\0') {
		resp_error(r, 400, "invalid_model", NULL, "Model '%s' not found",
		    json_get(body, "model") ? json_object_get_string(json_get(body, "model")) : "unknown");
		goto out;
	}
	req_log_extra(r, "model=%s", model);
	base = conf_str(c, CONF_UPSTREAM_BASE_URL);
	if (*base == '\0') {
		resp_error(r, 503, "upstream_error", "no_upstream",
		    "No upstream provider is configured");
		goto out;
	}
	v = json_get(body, "stream");
	rl.client_stream = v && json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
	rl.keepalive_us = conf_int(c, CONF_KEEPALIVE_INTERVAL) * 1000000;
	sent = rewrite_body(body, &rl, &sent_len);

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
		if (e == RERR_OK && !res.aborted)
			sse_finish(&rl.framer, on_event, &rl);
		if (r->client_gone) {
			req_log_extra(r, "client_left=1 events=%u", rl.events);
		} else if (e != RERR_OK) {
			/* The stream broke after it started: tell the client in-band. */
			struct json_object *err = json_object_new_object(), *env = json_object_new_object();
			const char *s;
			size_t n;
			char *ev;

			json_object_object_add(err, "message", json_object_new_string(res.error));
			json_object_object_add(err, "type", json_object_new_string("upstream_error"));
			json_object_object_add(err, "code", json_object_new_int(502));
			json_object_object_add(env, "error", err);
			s = json_compact(env, &n);
			ev = xasprintf("data: %s\n\n", s);
			emit(&rl, ev, strlen(ev));
			free(ev);
			json_object_put(env);
			req_log_extra(r, "upstream_cut=1");
		}
		goto out;
	}
	if (e != RERR_OK && !res.aborted) {
		if (e == RERR_TIMEOUT)
			resp_error(r, 504, "upstream_error", NULL, "Upstream service request timed out");
		else if (e == RERR_TOO_LARGE)
			resp_error(r, 502, "upstream_error", NULL, "Upstream response too large");
		else
			resp_error(r, 502, "upstream_error", NULL, "Unable to connect to upstream service: %s",
			    res.error);
		goto out;
	}
	if (rl.client_stream)
		relay_whole(r, res.status, res.content_type, rl.errbody.data, rl.errbody.len);
	else {
		struct json_object *answer = json_parse_strict(res.body.data, res.body.len, NULL);

		take_usage(&rl, json_get(answer, "usage"));
		json_object_put(answer);
		relay_whole(r, res.status, res.content_type, res.body.data, res.body.len);
	}
out:
	if (rl.usage_seen)
		req_log_extra(r, "tokens_in=%lld tokens_out=%lld", (long long)rl.prompt_tokens,
		    (long long)rl.completion_tokens);
	upstream_result_free(&res);
	json_object_put(body);
	free_lines(hdrs);
	free(url);
	free(sent);
	sse_free(&rl.framer);
	buf_free(&rl.data);
	buf_free(&rl.errbody);
}
