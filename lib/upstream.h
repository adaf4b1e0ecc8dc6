/* upstream: the libcurl relay to OpenAI-compatible providers and other HTTP
 * peers. One struct upstream per worker thread owns one CURL easy handle that
 * is reused for every request, so connections stay alive; a process-wide share
 * handle shares DNS and TLS sessions between threads (not connections, which
 * libcurl does not support across concurrent threads). Free of FastCGI: the
 * caller supplies callbacks that write wherever it wants. */
#ifndef ROUTSTR_UPSTREAM_H
#define ROUTSTR_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

struct upstream;

/* Once per process, before threads start. */
void upstream_global_init(void);
void upstream_global_cleanup(void);

/* Per thread. The caller owns the result. */
struct upstream *upstream_new(void);
void upstream_free(struct upstream *u);

/* Called at the start of every transfer on u, before any network I/O: the
 * server gives its database connection back to the pool there, so none is
 * held while waiting on a peer. fn may be NULL. */
void upstream_set_before_io(struct upstream *u, void (*fn)(void *ud), void *ud);

/* One response header (name lower-cased). Borrowed for the callback's span. */
struct upstream_header {
	const char *name;
	const char *value;
};

/* What the caller wants done. Every pointer is borrowed for the call. */
struct upstream_request {
	const char *method;		/* "POST", "GET" */
	const char *url;
	const char *const *headers;	/* "Name: value" lines, NULL-terminated, may be NULL */
	const char *bearer;		/* sets Authorization: Bearer <x> when non-NULL */
	const char *body;
	size_t body_len;
	long connect_timeout_s;		/* 0 = libcurl default */
	long idle_timeout_s;		/* abort after this long with no bytes; 0 = never */
	long total_timeout_s;		/* 0 = no limit */
	size_t max_response;		/* cap on a buffered (non-streamed) body */
	bool stream;			/* true: body bytes go to on_data as they come */
};

/* Callbacks; any may be NULL. Returning -1 aborts the transfer. */
struct upstream_sink {
	/* Once, when the status line and headers have arrived. */
	int (*on_headers)(void *ud, int status, const struct upstream_header *h, size_t nh);
	/* stream=true: each received chunk of body. */
	int (*on_data)(void *ud, const char *p, size_t n);
	/* About once a second while the transfer is in progress (to send
	 * keepalives or notice a departed client). */
	int (*on_tick)(void *ud);
};

struct upstream_result {
	int status;			/* HTTP status, 0 if none arrived */
	struct buf body;		/* stream=false: the body (owned; free with buf_free) */
	char *content_type;		/* owned, may be NULL */
	bool aborted;			/* a callback returned -1 */
	bool timed_out;
	char error[256];		/* transport error text, "" if none */
	int64_t connect_us;		/* time to connect; 0 when a kept-alive connection was reused */
	int64_t total_us;
	long new_connections;		/* connections opened for this request (0 = reused) */
};

/* Perform one request on u's reused handle. RERR_OK when an HTTP response
 * arrived (any status) or a callback aborted; RERR_UPSTREAM or RERR_TIMEOUT
 * when no response could be had (res->error says why). The caller frees
 * res->body and res->content_type with upstream_result_free. */
enum rerr upstream_perform(struct upstream *u, const struct upstream_request *rq,
    const struct upstream_sink *sink, void *ud, struct upstream_result *res);
void upstream_result_free(struct upstream_result *res);

#endif
