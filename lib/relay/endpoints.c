/* endpoints: one row per API the node relays, and the few pure functions
 * that differ between them (relay.h says who owns what). A new endpoint is
 * a row here, plus functions only where the defaults do not fit. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "json.h"
#include "relay.h"
#include "usage.h"
#include "util.h"

/* ------------------------------------------------------------ helpers */

static int64_t
str_chars(struct json_object *v)
{
	if (v == NULL || !json_object_is_type(v, json_type_string))
		return 0;
	return usage_codepoints(json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

static bool
is_obj(struct json_object *v)
{
	return v != NULL && json_object_is_type(v, json_type_object);
}

/* Keep usage (an object) as the meter's usage. */
static void
meter_usage(struct relay_meter *m, struct json_object *usage)
{
	if (!is_obj(usage))
		return;
	json_object_put(m->usage);
	m->usage = json_object_get(usage);
}

/* The larger of the integer fields a and b of body into *out (-1: neither). */
static void
read_max(struct json_object *body, const char *a, const char *b, int64_t *out)
{
	int64_t v;

	*out = -1;
	if (a && json_get_i64(body, a, &v) == 0 && v >= 0)
		*out = v;
	if (b && json_get_i64(body, b, &v) == 0 && v > *out)
		*out = v;
}

/* ------------------------------------------------- OpenAI chat, completions */

static void
chat_read(struct json_object *body, struct relay_ask *ask)
{
	int64_t n;

	/* Both may come; an upstream may honour either, so the larger
	 * bounds the answer. */
	read_max(body, "max_tokens", "max_completion_tokens", &ask->max_tokens);
	/* n answers (and best_of made to choose from) each up to that. */
	read_max(body, "n", "best_of", &n);
	if (n > 1)
		ask->outputs = n;
}

static int64_t
chat_out_chars(struct json_object *obj, const char *event)
{
	(void)event;
	return usage_chunk_chars(obj);
}

/* Legacy completions: choices[].text. */
static int64_t
text_out_chars(struct json_object *obj, const char *event)
{
	struct json_object *choices = json_get(obj, "choices");
	int64_t n = 0;
	size_t i, len;

	(void)event;
	if (choices == NULL || !json_object_is_type(choices, json_type_array))
		return 0;
	len = json_object_array_length(choices);
	for (i = 0; i < len; i++)
		n += str_chars(json_get(json_object_array_get_idx(choices, i), "text"));
	return n;
}

/* A usage-only chunk (choices empty) is held back: it goes out at the end
 * with the cost, and only to a client that asked for usage. */
static enum relay_ev
chat_event(struct relay_stream *s, const char *event, struct json_object *obj)
{
	struct json_object *usage = json_get(obj, "usage"), *choices;

	(void)event;
	if (!is_obj(usage))
		return RELAY_EV_EMIT;
	meter_usage(&s->meter, usage);
	s->meter.usage_final = true;
	choices = json_get(obj, "choices");
	if (choices == NULL || !json_object_is_type(choices, json_type_array) ||
	    json_object_array_length(choices) == 0)
		return RELAY_EV_HOLD;
	return RELAY_EV_EMIT;
}

/* The usage chunk (to a client that asked for it, made from what was billed
 * when none came) and [DONE]. */
static void
chat_stream_end(struct relay_stream *s, const struct relay_cost *c)
{
	const struct relay_call *call = s->call;

	if (call->ask->stream_usage) {
		struct json_object *t = s->trailer;

		if (t == NULL) {
			struct json_object *u = json_object_new_object();

			t = json_object_new_object();
			json_object_object_add(t, "id", json_object_new_string(s->stream_id));
			json_object_object_add(t, "object",
			    json_object_new_string(call->ep->chunk_object));
			json_object_object_add(t, "model", json_object_new_string(call->public_model));
			json_object_object_add(t, "choices", json_object_new_array());
			json_object_object_add(u, "prompt_tokens", json_object_new_int64(
			    pricing_tokens_from_chars(call->ask->prompt_chars)));
			json_object_object_add(u, "completion_tokens",
			    json_object_new_int64(pricing_tokens_from_chars(s->meter.out_chars)));
			json_object_object_add(u, "total_tokens", json_object_new_int64(
			    pricing_tokens_from_chars(call->ask->prompt_chars) +
			    pricing_tokens_from_chars(s->meter.out_chars)));
			json_object_object_add(t, "usage", u);
			s->trailer = t;
		}
		relay_add_cost_fields(t, c);
		if (relay_emit_json(s, NULL, t) < 0)
			return;
	}
	if (s->done_seen)
		relay_emit_raw(s, "data: [DONE]\n\n", 14);
}

/* ----------------------------------------------------- embeddings and co */

static void
no_output_read(struct json_object *body, struct relay_ask *ask)
{
	(void)body;
	ask->max_tokens = 0;	/* answers are vectors or scores, not tokens */
}

/* ------------------------------------------------------- Responses API */

static void
responses_read(struct json_object *body, struct relay_ask *ask)
{
	read_max(body, "max_output_tokens", NULL, &ask->max_tokens);
	/* Input kept by the upstream joins this request's. */
	if (json_get(body, "previous_response_id") || json_get(body, "conversation") ||
	    json_get(json_get(body, "prompt"), "id"))
		ask->prompt_unknown = true;
}

/* Output text of a Responses answer (output[].content[].text) or of one of
 * its stream events (response.output_text.delta). */
static int64_t
responses_out_chars(struct json_object *obj, const char *event)
{
	struct json_object *out;
	int64_t n = 0;
	size_t i, j;

	if (event != NULL && *event != '\0') {
		if (strcmp(event, "response.output_text.delta") == 0 ||
		    strcmp(event, "response.reasoning_text.delta") == 0 ||
		    strcmp(event, "response.function_call_arguments.delta") == 0)
			return str_chars(json_get(obj, "delta"));
		return 0;
	}
	out = json_get(obj, "output");
	if (out == NULL || !json_object_is_type(out, json_type_array))
		return 0;
	for (i = 0; i < json_object_array_length(out); i++) {
		struct json_object *item = json_object_array_get_idx(out, i);
		struct json_object *content = json_get(item, "content");

		n += str_chars(json_get(item, "arguments"));
		if (content == NULL || !json_object_is_type(content, json_type_array))
			continue;
		for (j = 0; j < json_object_array_length(content); j++)
			n += str_chars(json_get(json_object_array_get_idx(content, j), "text"));
	}
	return n;
}

/* The usage is in response.usage of response.completed (or .incomplete,
 * .failed): that event is held and sent last, with the cost, under its own
 * event name (Routstr loses the name and reads a usage that is not there). */
static enum relay_ev
responses_event(struct relay_stream *s, const char *event, struct json_object *obj)
{
	const char *type = json_get_str(obj, "type");

	if (type == NULL)
		type = event;
	if (type == NULL || (strcmp(type, "response.completed") != 0 &&
	    strcmp(type, "response.incomplete") != 0 && strcmp(type, "response.failed") != 0))
		return RELAY_EV_EMIT;
	meter_usage(&s->meter, json_get(json_get(obj, "response"), "usage"));
	s->meter.usage_final = s->meter.usage != NULL;
	return RELAY_EV_HOLD;
}

static void
responses_stream_end(struct relay_stream *s, const struct relay_cost *c)
{
	struct json_object *t = s->trailer, *resp, *usage;
	char usd[64];

	if (t == NULL)
		return;	/* cut short: no completed event to carry the cost */
	resp = json_get(t, "response");
	usage = json_get(resp, "usage");
	if (is_obj(usage)) {
		if (c->cost.usd_fusd > 0) {
			pricing_fmt_fusd(c->cost.usd_fusd, usd, sizeof(usd));
			json_object_object_add(usage, "cost", json_object_new_double_s(0, usd));
		}
		json_object_object_add(usage, "cost_sats",
		    json_object_new_int64(pricing_msat_to_sat_floor(c->cost.total_msat)));
		json_object_object_add(usage, "remaining_balance_msats",
		    json_object_new_int64(c->balance_after));
	}
	if (is_obj(resp) && json_get(resp, "model"))
		json_object_object_add(resp, "model", json_object_new_string(s->call->public_model));
	relay_add_cost_fields(t, c);
	relay_emit_json(s, s->trailer_event[0] ? s->trailer_event : "response.completed", t);
}

/* ------------------------------------------------- Anthropic Messages */

static void
messages_read(struct json_object *body, struct relay_ask *ask)
{
	read_max(body, "max_tokens", NULL, &ask->max_tokens);
}

static int64_t
messages_out_chars(struct json_object *obj, const char *event)
{
	struct json_object *content, *d;
	int64_t n = 0;
	size_t i;

	if (event != NULL && *event != '\0') {
		if (strcmp(event, "content_block_delta") != 0)
			return 0;
		d = json_get(obj, "delta");
		return str_chars(json_get(d, "text")) + str_chars(json_get(d, "thinking")) +
		    str_chars(json_get(d, "partial_json"));
	}
	content = json_get(obj, "content");
	if (content == NULL || !json_object_is_type(content, json_type_array))
		return 0;
	for (i = 0; i < json_object_array_length(content); i++) {
		struct json_object *b = json_object_array_get_idx(content, i);

		n += str_chars(json_get(b, "text")) + str_chars(json_get(b, "thinking"));
	}
	return n;
}

/* Set key of the meter's usage (an Anthropic-shaped object it owns) from
 * src, when src has it as an integer. */
static void
merge_int(struct json_object *dst, struct json_object *src, const char *key)
{
	struct json_object *v = json_get(src, key);

	if (v && json_object_is_type(v, json_type_int))
		json_object_object_add(dst, key, json_object_new_int64(json_object_get_int64(v)));
}

/* message_start carries the input side (and cache fields), message_delta
 * the output tokens so far; both are merged into one usage. Every event is
 * relayed as it comes; the cost follows as an "event: cost" at the end. */
static enum relay_ev
messages_event(struct relay_stream *s, const char *event, struct json_object *obj)
{
	const char *type = json_get_str(obj, "type");
	struct json_object *src = NULL;

	if (type == NULL)
		type = event ? event : "";
	if (strcmp(type, "message_start") == 0)
		src = json_get(json_get(obj, "message"), "usage");
	else if (strcmp(type, "message_delta") == 0)
		src = json_get(obj, "usage");
	if (!is_obj(src))
		return RELAY_EV_EMIT;
	if (s->meter.usage == NULL)
		s->meter.usage = json_object_new_object();
	merge_int(s->meter.usage, src, "input_tokens");
	merge_int(s->meter.usage, src, "output_tokens");
	merge_int(s->meter.usage, src, "cache_read_input_tokens");
	merge_int(s->meter.usage, src, "cache_creation_input_tokens");
	/* message_start's output_tokens is 1 whatever comes: only
	 * message_delta's count is the answer's. */
	if (strcmp(type, "message_delta") == 0)
		s->meter.usage_final = true;
	if (strcmp(type, "message_start") == 0 && json_get(json_get(obj, "message"), "model"))
		json_object_object_add(json_get(obj, "message"), "model",
		    json_object_new_string(s->call->public_model));
	return RELAY_EV_EMIT;
}

static void
messages_stream_end(struct relay_stream *s, const struct relay_cost *c)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "model", json_object_new_string(s->call->public_model));
	json_object_object_add(o, "usage", s->meter.usage ? json_object_get(s->meter.usage) :
	    json_object_new_object());
	json_object_object_add(o, "provider", json_object_new_string(c->provider));
	relay_add_cost_fields(o, c);
	relay_emit_json(s, "cost", o);
	json_object_put(o);
}

/* --------------------------------------------------------------- images */

static void
images_read(struct json_object *body, struct relay_ask *ask)
{
	int64_t n;

	ask->max_tokens = 0;
	ask->images_out = json_get_i64(body, "n", &n) == 0 && n > 0 ? n : 1;
}

/* ----------------------------------------------------------- audio */

/* Transcription streams (gpt-4o models) end with transcript.text.done,
 * which carries the usage. */
static enum relay_ev
transcript_event(struct relay_stream *s, const char *event, struct json_object *obj)
{
	(void)event;
	meter_usage(&s->meter, json_get(obj, "usage"));
	if (s->meter.usage != NULL)
		s->meter.usage_final = true;
	return RELAY_EV_EMIT;
}

static int64_t
transcript_out_chars(struct json_object *obj, const char *event)
{
	if (event != NULL && *event != '\0')
		return 0;
	return str_chars(json_get(obj, "delta")) + str_chars(json_get(obj, "text"));
}

static void
speech_read(struct json_object *body, struct relay_ask *ask)
{
	(void)body;
	ask->max_tokens = 0;	/* the answer is audio, billed by its input */
}

/* ---------------------------------------------------------- the table */

static const struct relay_endpoint endpoints[] = {
	{ .path = "chat/completions", .name = "chat", .streams = true, .usage_opt_in = true,
	  .read = chat_read, .out_chars = chat_out_chars, .event = chat_event,
	  .stream_end = chat_stream_end, .chunk_object = "chat.completion.chunk" },
	{ .path = "completions", .name = "completions", .streams = true, .usage_opt_in = true,
	  .read = chat_read, .out_chars = text_out_chars, .event = chat_event,
	  .stream_end = chat_stream_end, .chunk_object = "text_completion" },
	{ .path = "embeddings", .name = "embeddings", .read = no_output_read },
	{ .path = "moderations", .name = "moderations", .read = no_output_read },
	{ .path = "responses", .name = "responses", .streams = true, .read = responses_read,
	  .out_chars = responses_out_chars, .event = responses_event,
	  .stream_end = responses_stream_end },
	{ .path = "messages", .name = "messages", .streams = true, .read = messages_read,
	  .out_chars = messages_out_chars, .event = messages_event,
	  .stream_end = messages_stream_end },
	{ .path = "messages/count_tokens", .name = "count_tokens", .free = true,
	  .read = no_output_read },
	{ .path = "images/generations", .name = "images", .images = true, .read = images_read },
	{ .path = "images/edits", .name = "images_edit", .body = RELAY_BODY_MULTIPART,
	  .images = true, .read = images_read },
	{ .path = "images/variations", .name = "images_variation", .body = RELAY_BODY_MULTIPART,
	  .images = true, .read = images_read },
	{ .path = "audio/transcriptions", .name = "transcription", .body = RELAY_BODY_MULTIPART,
	  .streams = true, .event = transcript_event, .out_chars = transcript_out_chars },
	{ .path = "audio/translations", .name = "translation", .body = RELAY_BODY_MULTIPART,
	  .out_chars = transcript_out_chars },
	{ .path = "audio/speech", .name = "speech", .binary = true, .read = speech_read },
};

/* The worst case of an API we do not know: the output bounds it names, else
 * the model's largest answer. */
static void
passthrough_read(struct json_object *body, struct relay_ask *ask)
{
	int64_t v;

	read_max(body, "max_tokens", "max_completion_tokens", &ask->max_tokens);
	if (json_get_i64(body, "max_output_tokens", &v) == 0 && v > ask->max_tokens)
		ask->max_tokens = v;
}

/* Any other path under /v1/ whose body names a catalogued model: relayed
 * as it is (bytes both ways), billed by its usage when the answer reports
 * one in a shape we read, else by an estimate (what was sent, and the
 * bytes that came back), plus the per-request price; never more than its
 * worst case. (Billing it by the per-request price alone would sell any
 * metered API the upstream has for that price.) */
const struct relay_endpoint relay_passthrough = {
	.path = "", .name = "passthrough", .binary = true, .read = passthrough_read,
};

const struct relay_endpoint *
relay_endpoint_find(const char *path)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(endpoints); i++)
		if (strcmp(endpoints[i].path, path) == 0)
			return &endpoints[i];
	return NULL;
}

void
relay_read_json(const struct relay_endpoint *ep, struct json_object *body,
    struct relay_ask *ask)
{
	struct json_object *v;

	memset(ask, 0, sizeof(*ask));
	ask->model = json_get_str(body, "model");
	v = json_get(body, "stream");
	ask->stream = ep->streams && v && json_object_is_type(v, json_type_boolean) &&
	    json_object_get_boolean(v);
	v = json_get(json_get(body, "stream_options"), "include_usage");
	ask->stream_usage = ask->stream && v && json_object_is_type(v, json_type_boolean) &&
	    json_object_get_boolean(v);
	ask->prompt_chars = usage_prompt_chars(body, &ask->images_in);
	ask->max_tokens = -1;
	ask->requests = 1;
	ask->outputs = 1;
	if (ep->read)
		ep->read(body, ask);
}

bool
relay_prepare_json(const struct relay_endpoint *ep, struct json_object *body,
    const char *upstream_model, const struct relay_ask *ask)
{
	struct json_object *so, *mv = json_get(body, "model");
	bool changed = false;

	/* The provider's id of the model the request was priced by, never the
	 * client's spelling (case, a date suffix, an alias). */
	if (upstream_model && (mv == NULL || !json_object_is_type(mv, json_type_string) ||
	    strcmp(json_object_get_string(mv), upstream_model) != 0)) {
		json_object_object_add(body, "model", json_object_new_string(upstream_model));
		changed = true;
	}
	/* Streams that report usage only when asked are always asked, so the
	 * usage can be read; the client gets it only if it asked too. */
	if (ep->usage_opt_in && ask->stream && !ask->stream_usage) {
		so = json_get(body, "stream_options");
		if (!is_obj(so)) {
			so = json_object_new_object();
			json_object_object_add(body, "stream_options", so);
		}
		json_object_object_add(so, "include_usage", json_object_new_boolean(1));
		changed = true;
	}
	return changed;
}
