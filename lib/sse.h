/* sse: cuts a byte stream into Server-Sent Events on blank lines, whatever
 * the chunking: CRLF and CR line ends are normalised to LF across chunk
 * boundaries. Each complete event (without its terminating blank line) is
 * handed to a callback. The carry-over buffer is capped. */
#ifndef ROUTSTR_SSE_H
#define ROUTSTR_SSE_H

#include <stddef.h>

#include "buf.h"

struct sse {
	struct buf pending;	/* bytes of the event being assembled */
	int last_cr;		/* previous chunk ended in '\r' */
};

/* Return 0 to go on, -1 to stop feeding (the caller's reason). */
typedef int (*sse_event_fn)(void *ud, const char *ev, size_t len);

void sse_init(struct sse *s, size_t max_event);
/* Feed n bytes; calls fn for every completed event. Returns 0, -1 when fn
 * stopped, or -2 when one event exceeds max_event. */
int sse_feed(struct sse *s, const char *p, size_t n, sse_event_fn fn, void *ud);
/* At end of stream: a non-blank leftover is handed to fn as a last event. */
int sse_finish(struct sse *s, sse_event_fn fn, void *ud);
void sse_free(struct sse *s);

/* Helpers over one event's text. The payload of its data: lines joined with
 * '\n' (one leading space after "data:" removed) into out; returns the number
 * of data lines. A line starting with ':' is a comment. */
int sse_event_data(const char *ev, size_t len, struct buf *out);
/* True when the event has no data lines and only comments. */
int sse_event_is_comment(const char *ev, size_t len);

#endif
