/* util: allocation wrappers, strict number parsing, hex, randomness, time.
 * Small allocations abort on out-of-memory (x*alloc); client-driven sizes must
 * be checked against a cap before they reach these. */
#ifndef ROUTSTR_UTIL_H
#define ROUTSTR_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Allocate or abort. The caller owns the result and frees it with free(). */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a fresh string; caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Whole-string decimal parsers: no sign for u64, no leading/trailing junk, no
 * empty string, value within [min, max]. Return 0 and set *out, or -1. */
int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
int parse_u64(const char *s, uint64_t max, uint64_t *out);
/* Same for a length-delimited string (not NUL-terminated). */
int parse_u64n(const char *s, size_t n, uint64_t max, uint64_t *out);
/* true/false, yes/no, on/off, 1/0 (case-insensitive). Return 0 or -1. */
int parse_bool(const char *s, bool *out);

/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void hex_encode(const uint8_t *in, size_t n, char *out);
/* Decode exactly n bytes from 2n hex digits (either case); -1 on bad input. */
int hex_decode(const char *in, size_t inlen, uint8_t *out, size_t n);

/* Constant-time comparison of two n-byte buffers: true when equal. */
bool ct_memeq(const void *a, const void *b, size_t n);

/* Fill buf with n bytes from the kernel CSPRNG; aborts if it cannot. */
void rand_bytes(void *buf, size_t n);
/* A random UUID v4, 36 chars + NUL, into out. */
void uuid4(char out[37]);
/* RFC 9562 version 7: 48 bits of Unix milliseconds, then random. Ids made
 * later sort later, so an index on them grows at its end instead of being
 * rewritten at random places (the request ids of the requests table). */
void uuid7(char out[37]);

/* Monotonic clock in microseconds; wall clock in seconds. */
int64_t mono_usec(void);
int64_t wall_sec(void);

/* ASCII case-insensitive compare helpers (locale-free). */
bool str_ieq(const char *a, const char *b);
bool str_iprefix(const char *s, const char *prefix);
/* True when s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
bool utf8_valid(const char *s, size_t n);

/* The value of a hex digit, -1 for anything else. */
int hex_digit(int c);
/* Percent-decode s[0..n) into a new string (caller frees); '+' is a space
 * with plus_space (forms). NULL on a bad escape or an encoded NUL. */
char *pct_decode(const char *s, size_t n, bool plus_space);

#endif
