/* sse: see sse.h. */
#include "config.h"

#include <string.h>

#include "sse.h"

void
sse_init(struct sse *s, size_t max_event)
{
	buf_init(&s->pending, max_event);
	s->last_cr = 0;
}

void
sse_free(struct sse *s)
{
	buf_free(&s->pending);
}

/* If pending ends with a blank line ("\n\n"), hand the event before it to fn.
 * Called after every appended '\n'. */
static int
maybe_emit(struct sse *s, sse_event_fn fn, void *ud)
{
	struct buf *b = &s->pending;
	int rc = 0;

	if (b->len >= 2 && b->data[b->len - 1] == '\n' && b->data[b->len - 2] == '\n') {
		size_t n = b->len - 2;

		/* Events made only of blank lines are nothing. */
		if (n > 0)
			rc = fn(ud, b->data, n);
		buf_reset(b);
	} else if (b->len == 1 && b->data[0] == '\n') {
		buf_reset(b);	/* stray blank line between events */
	}
	return rc;
}

int
sse_feed(struct sse *s, const char *p, size_t n, sse_event_fn fn, void *ud)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		char c = p[i];

		if (c != '\r' && c != '\n')
			continue;
		int adjacent = i == start;	/* nothing since the last line end */

		/* Copy the run before this line end. */
		if (i > start && buf_append(&s->pending, p + start, i - start) < 0)
			return -2;
		start = i + 1;
		if (c == '\n' && s->last_cr && adjacent) {
			/* second half of a CRLF that was already counted */
			s->last_cr = 0;
			continue;
		}
		s->last_cr = c == '\r';
		if (buf_append(&s->pending, "\n", 1) < 0)
			return -2;
		if (maybe_emit(s, fn, ud) < 0)
			return -1;
	}
	if (start < n) {
		s->last_cr = 0;
		if (buf_append(&s->pending, p + start, n - start) < 0)
			return -2;
	}
	return 0;
}

int
sse_finish(struct sse *s, sse_event_fn fn, void *ud)
{
	struct buf *b = &s->pending;
	size_t i, n = b->len;
	int rc = 0;

	while (n > 0 && b->data[n - 1] == '\n')
		n--;
	for (i = 0; i < n; i++)
		if (b->data[i] != ' ' && b->data[i] != '\n' && b->data[i] != '\t')
			break;
	if (i < n)
		rc = fn(ud, b->data, n);
	buf_reset(b);
	return rc < 0 ? -1 : 0;
}

int
sse_event_data(const char *ev, size_t len, struct buf *out)
{
	const char *p = ev, *end = ev + len;
	int lines = 0;

	buf_reset(out);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		if ((size_t)(le - p) >= 5 && memcmp(p, "data:", 5) == 0) {
			const char *v = p + 5;

			if (v < le && *v == ' ')
				v++;
			if (lines > 0 && buf_append(out, "\n", 1) < 0)
				return -1;
			if (buf_append(out, v, (size_t)(le - v)) < 0)
				return -1;
			lines++;
		}
		p = nl ? nl + 1 : end;
	}
	return lines;
}

int
sse_event_is_comment(const char *ev, size_t len)
{
	const char *p = ev, *end = ev + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		if (le > p && *p != ':')
			return 0;
		p = nl ? nl + 1 : end;
	}
	return 1;
}
