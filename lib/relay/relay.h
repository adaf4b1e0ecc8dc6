/* relay: the one relay engine behind every paid API route, and the
 * endpoint descriptions it runs (DESIGN.md 4; lighttpd's gw_backend.c with
 * its thin mod_fastcgi/mod_scgi adapters is the model).
 *
 * Who owns what:
 *   - an endpoint (endpoints.c) is a row: the path, how its request is read
 *     (JSON or multipart), and a few pure functions over json-c objects:
 *     read the model and the worst case, rewrite the body for the
 *     provider, find the usage in an answer or a stream event, and finish a
 *     stream (the trailer events). It does no I/O.
 *   - the engine (engine.c) does the I/O: it sends the request to the
 *     provider, frames an SSE answer into events and hands each to the
 *     endpoint, relays bytes of a binary or unknown answer as they come,
 *     and tells its caller when to settle. It writes to the client only
 *     through struct relay_client and touches money only through struct
 *     relay_money, so it knows neither FastCGI nor the ledger.
 *   - the adapter (handlers/proxy.c) maps routes to endpoints, resolves who
 *     pays, reserves, implements relay_client over struct req and
 *     relay_money over the ledger, and answers errors.
 *   - bill.c prices what the meter saw and writes the cost fields. */
#ifndef ROUTSTR_RELAY_H
#define ROUTSTR_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"
#include "err.h"
#include "pricing.h"
#include "sse.h"

struct upstream;

/* How an endpoint's request body is read. */
enum relay_body {
	RELAY_BODY_JSON,	/* a JSON object naming "model" */
	RELAY_BODY_MULTIPART,	/* multipart/form-data with a "model" field */
};

/* What the adapter read from a request, for pricing and the relay. */
struct relay_ask {
	const char *model;	/* borrowed from the body; NULL: none named */
	bool stream;		/* the client asked for a stream */
	bool stream_usage;	/* ...and for the usage event (chat, completions) */
	int64_t prompt_chars;	/* code points of input text (estimate) */
	int64_t max_tokens;	/* output bound the client gave; -1 none */
	int64_t images_in;	/* input images */
	int64_t images_out;	/* images asked to be made (n) */
	int64_t requests;	/* billed requests (1) */
	int64_t outputs;	/* answers made (chat n, completions best_of): 1 */
	bool prompt_unknown;	/* input the body does not show (previous_response_id) */
};

/* What an answer said so far: its usage and how much it produced. */
struct relay_meter {
	struct json_object *usage;	/* last usage (owned), in any shape usage.h reads */
	int64_t out_chars;		/* output text seen (for an estimate) */
	int64_t images;			/* images made */
	bool any_output;		/* something billable was relayed */
	bool usage_final;		/* usage is the answer's whole (not message_start's) */
	int status;			/* the upstream's HTTP status */
};

/* An endpoint's answer to one stream event. */
enum relay_ev {
	RELAY_EV_EMIT,		/* relay it (possibly rewritten) now */
	RELAY_EV_HOLD,		/* keep it for the end of the stream (the trailer) */
	RELAY_EV_DROP,		/* never relay it */
};

/* The cost record of a settled request (bill.c writes it into answers). */
struct relay_cost {
	struct pricing_cost cost;	/* what was charged */
	int64_t balance_after;		/* the paying key's balance after */
	const char *provider;		/* who served it */
	const char *note;		/* an SSE comment for the end of a stream (X-Cashu change) */
};

struct relay_stream;

/* One endpoint. Functions may be NULL (the defaults in endpoints.c). */
struct relay_endpoint {
	const char *path;		/* after "/v1/": "chat/completions" */
	const char *name;		/* for logs: "chat" */
	enum relay_body body;
	bool streams;			/* answers stream when asked */
	bool usage_opt_in;		/* streams report usage only when asked (OpenAI) */
	bool binary;			/* answers are bytes relayed as they come (speech) */
	bool free;			/* relayed without a charge (count_tokens) */
	bool images;			/* answers' data[] are images made (billed each) */
	/* Read the worst case from the body (after the generic reading). */
	void (*read)(struct json_object *body, struct relay_ask *ask);
	/* Chars of output text in an answer or a stream event object. */
	int64_t (*out_chars)(struct json_object *obj, const char *event);
	/* Usage of a stream event (NULL: none); may update m->usage itself. */
	enum relay_ev (*event)(struct relay_stream *s, const char *event,
	    struct json_object *obj);
	/* Write the trailer events at the end of a stream that completed. */
	void (*stream_end)(struct relay_stream *s, const struct relay_cost *c);
	/* Synthesised object type for a trailer without usage ("chat.completion.chunk"). */
	const char *chunk_object;
};

/* Find the endpoint of path (without "/v1/"); NULL when there is none (the
 * adapter then relays it as a passthrough with relay_passthrough). */
const struct relay_endpoint *relay_endpoint_find(const char *path);
extern const struct relay_endpoint relay_passthrough;

/* Read model, stream flag and worst case of a JSON body (borrowed). */
void relay_read_json(const struct relay_endpoint *ep, struct json_object *body,
    struct relay_ask *ask);

/* Rewrite body for the provider: the provider's model id, and the usage
 * opt-in of streams that need it. Returns true when it changed. */
bool relay_prepare_json(const struct relay_endpoint *ep, struct json_object *body,
    const char *upstream_model, const struct relay_ask *ask);

/* ------------------------------------------------------------ the engine */

/* The client side, implemented by the adapter. write buffers, stream writes
 * and flushes; both return -1 when the client has gone. */
struct relay_client {
	void *ud;
	void (*status)(void *ud, int status);
	void (*header)(void *ud, const char *name, const char *value);
	int (*write)(void *ud, const char *p, size_t n);
	int (*stream)(void *ud, const char *p, size_t n);
	bool (*gone)(void *ud);
};

/* The money side, implemented by the adapter. progress records the cost so
 * far (the sweeper charges it if we die); finish settles (charge) or
 * releases, exactly once, and fills c; its headers (X-Cashu change) go out
 * through the client before the answer if headers are still open. */
struct relay_money {
	void *ud;
	void (*progress)(void *ud, int64_t cost_msat);
	void (*finish)(void *ud, bool charge, const struct relay_meter *m, struct relay_cost *c);
	/* Headers the answer carries once settled (cost, change). */
	void (*headers)(void *ud, const struct relay_cost *c);
	/* Headers of an answer relayed as it comes (a stream), added just
	 * before they go out: X-Cashu's change above the reservation. Called
	 * from inside the upstream transfer. May be NULL. */
	void (*stream_start)(void *ud);
	/* Answer an upstream error in the payer's own shape (X-Cashu: the
	 * refund token in the body); false to leave it to the engine. May be
	 * NULL. */
	bool (*answer_error)(void *ud, int status);
};

/* One provider the request may go to, in the order they are tried. */
struct relay_provider {
	int64_t id;			/* providers.id (health reports) */
	const char *name;		/* its slug: the answers' "provider" */
	const char *base_url;		/* ".../v1" */
	const char *api_key;		/* NULL: none */
	const char *type;		/* "openai", "anthropic", ... */
};

/* One relayed request. */
struct relay_call {
	const struct relay_endpoint *ep;
	const struct relay_ask *ask;
	const char *method;		/* "POST" */
	const char *path;		/* after "/v1/", may differ from ep->path (passthrough) */
	const char *query;		/* "" or "a=b" */
	const char *public_model;	/* the id the client sees in answers */
	const char *content_type;	/* of the body */
	const char *const *headers;	/* client headers to forward, "Name: value" */
	const char *request_id;
	long connect_timeout_s;
	long idle_timeout_s;
	size_t max_response;
	int64_t keepalive_us;		/* SSE comment this often on a silent stream; 0 never */
	const struct relay_provider *providers;	/* tried in order (failover) */
	size_t nproviders;
	const struct relay_provider *provider;	/* set by the engine: the one trying now */
	/* The body for provider i (its model id), owned by the adapter. */
	void (*body_for)(void *ud, size_t i, const char **body, size_t *len);
	/* Drop top-level parameter name from the body (the provider said it
	 * does not support it); false when it cannot (not JSON, not there). */
	bool (*drop_param)(void *ud, const char *name);
	struct upstream *up;
	struct relay_client client;
	struct relay_money money;
	/* the price of what the meter saw (bill.c) */
	int64_t (*cost_so_far)(void *ud, const struct relay_meter *m);
};

/* How the relay ended, for the adapter's log and error answer. */
struct relay_outcome {
	enum rerr e;			/* RERR_OK: an answer was relayed */
	int status;			/* upstream status, 0 if none */
	bool answered;			/* the client got an answer (any status) */
	bool client_left;
	bool upstream_cut;		/* a stream broke off */
	unsigned attempts;		/* upstream exchanges made */
	char failed_over[128];		/* providers that failed before, "a,b" */
	int64_t upstream_ms;
	long new_connections;
	char error[256];		/* transport error when !answered */
};

/* Relay call; every path settles or releases through call->money exactly
 * once. When out->answered is false nothing reached the client and the
 * money was released: the adapter answers the error (out->e). */
void relay_run(struct relay_call *call, struct relay_outcome *out);

/* ------------------------------------------------------- stream handle */

/* The stream an endpoint's event and stream_end functions work on. */
struct relay_stream {
	struct relay_call *call;
	struct relay_meter meter;
	struct json_object *trailer;	/* a held event (owned) */
	char trailer_event[64];		/* its "event:" name, "" if none */
	bool done_seen;			/* the upstream sent data: [DONE] */
	char stream_id[80];
	unsigned events;
};

/* Write one event: "event: <name>\n" when name is non-empty, then
 * "data: <json>\n\n", flushed. -1 when the client left. */
int relay_emit_json(struct relay_stream *s, const char *event, struct json_object *obj);
int relay_emit_raw(struct relay_stream *s, const char *p, size_t n);

/* ---------------------------------------------------- upstream_error.c */

/* Routstr's rate-limit test: a 429, or words that say so in the message. */
bool relay_is_rate_limit(int status, const char *msg);
/* Routstr's "details" of a rate limit (a new object): code, message, model,
 * metric, limit_name, limit, used, requested, retry_after_seconds, each when
 * the message or the Retry-After header says it; *retry_secs is -1 when
 * neither names a wait. */
struct json_object *relay_rate_details(const char *msg, const char *retry_header,
    double *retry_secs);
/* Replace OpenAI organisation ids ("org-" and 6 or more letters or digits)
 * in s with "org-[REDACTED]"; s needs room for 10 more bytes per short id. */
void relay_redact_org(char *s);

/* ------------------------------------------------------------ bill.c */

struct db;
struct ledger_request_log;

/* The money of one relayed request: its worst case, its reservation and
 * its settlement (DESIGN.md 5). Owned by the adapter, which fills ep, ask,
 * price and pp, reserves (ledger_reserve) into res_id, and hands it to
 * these functions; no HTTP here. */
struct relay_bill {
	const struct relay_endpoint *ep;
	const struct relay_ask *ask;
	const struct pricing_model *price;	/* NULL: unpriced (fixed pricing) */
	struct pricing_params pp;
	int64_t reserved;		/* msat the reservation holds */
	int64_t res_id;			/* 0: none held */
	bool settled;			/* settled or released: never again */
	bool charged;			/* settled with a charge */
	bool estimated;			/* charged by estimate, not usage */
	struct pricing_cost cost;	/* what was charged */
	int64_t forgiven;		/* an overrun the key could not cover */
	int64_t balance_after;
};

/* The worst case of b->ask at b->pp into b->reserved: RERR_INVALID when it
 * cannot be computed (too large). */
enum rerr relay_bill_price(struct relay_bill *b);
/* What the meter's request costs: by its usage, or by an estimate from what
 * was sent and received, capped by the reservation (requests that produced
 * output are never free). *estimated may be NULL. */
int64_t relay_bill_cost(const struct relay_bill *b, const struct relay_meter *m,
    struct pricing_cost *pc, bool *estimated);
/* Release the reservation (nothing charged), or settle it at the meter's
 * cost, exactly once, with log for the requests table. A busy database is
 * tried once more; RERR_OK or the ledger's error. */
enum rerr relay_bill_release(struct relay_bill *b, struct db *db);
enum rerr relay_bill_settle(struct relay_bill *b, struct db *db, const struct relay_meter *m,
    struct ledger_request_log *log);

/* Add Routstr's cost fields to an answer or a usage event (borrowed). */
void relay_add_cost_fields(struct json_object *obj, const struct relay_cost *c);
/* Routstr's cost object (full: with sats_cost and remaining balance). */
struct json_object *relay_cost_object(const struct relay_cost *c, bool full);

#endif
