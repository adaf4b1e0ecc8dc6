/* cashu/b64: base64 in both alphabets (standard "+/" and url "-_"), padded
 * or not. The decoder is strict: no whitespace, no mixed alphabets, padding
 * only at the end and only as much as the length requires, no non-zero bits
 * left over in the last character (so every byte string has exactly one
 * accepted spelling per alphabet and padding choice). */
#ifndef ROUTSTR_CASHU_B64_H
#define ROUTSTR_CASHU_B64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum b64_alphabet {
	B64_STD = 0,	/* RFC 4648 section 4: A-Z a-z 0-9 + / */
	B64_URL,	/* RFC 4648 section 5: A-Z a-z 0-9 - _ */
	B64__MAX
};

/* Length of the encoding of n bytes, without the terminating NUL. */
size_t b64_encoded_len(size_t n, bool pad);
/* Most bytes a decode of len characters can produce. */
size_t b64_decoded_max(size_t len);

/* Encode n bytes of in into out (outsz bytes, NUL-terminated). Returns the
 * encoded length, or (size_t)-1 when out is too small. Borrows everything. */
size_t b64_encode(const uint8_t *in, size_t n, enum b64_alphabet a, bool pad, char *out,
    size_t outsz);

/* Decode len characters of in (either alphabet, padded or not) into out
 * (outsz bytes). Sets *outlen and returns 0, or -1 on any malformed input or
 * when out is too small. Borrows everything; out is not NUL-terminated. */
int b64_decode(const char *in, size_t len, uint8_t *out, size_t outsz, size_t *outlen);

#endif
