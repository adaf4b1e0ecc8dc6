/* buf: a growable byte buffer with a hard cap set at creation.
 * Appends past the cap fail with -1 and leave the buffer as it was, so a
 * client-chosen size can never grow memory without bound. The data is always
 * NUL-terminated (not counted in len) for convenience. */
#ifndef ROUTSTR_BUF_H
#define ROUTSTR_BUF_H

#include <stddef.h>
#include <stdarg.h>

struct buf {
	char *data;	/* owned; NULL until the first append */
	size_t len;
	size_t cap;	/* allocated bytes */
	size_t max;	/* hard cap on len */
};

void buf_init(struct buf *b, size_t max);
/* Append n bytes; -1 if len would exceed max. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);
/* Free the storage; the buffer can be reused after buf_init. */
void buf_free(struct buf *b);
/* Hand the storage to the caller (NUL-terminated, may be NULL if empty). */
char *buf_steal(struct buf *b, size_t *len);

#endif
