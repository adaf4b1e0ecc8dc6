/* multipart: reads multipart/form-data bodies (RFC 7578 over RFC 2046) that
 * the proxy relays byte for byte, so that it can see a few text fields and
 * swap the value of one of them without touching any other byte.
 *
 * Ownership. Nothing here copies the body: multipart_parse fills a struct
 * multipart whose parts point into the caller's body (borrowed; the body
 * must outlive the struct and must not change under it). The struct itself
 * owns nothing and needs no freeing; it is about 4 KiB, fine on the stack.
 * multipart_field copies into the caller's buffer. multipart_replace_field
 * returns a new body the caller frees with free(); the parts of the struct
 * still point into the old body, so parse the new one to read it.
 *
 * What is accepted. Bodies as curl -F, Python requests/urllib3, undici and
 * formdata-node (the OpenAI Node SDK) and browsers write them: an optional
 * preamble; "--boundary" lines, with optional trailing spaces or tabs,
 * ending in CRLF; in each part CRLF-terminated header lines, a blank line and
 * the content, which runs up to the CRLF of the next delimiter; a closing
 * "--boundary--", then an optional epilogue (formdata-node writes one CRLF
 * there). Each part needs "Content-Disposition: form-data; name=..." (name
 * quoted or a token, as the clients send it: percent-escapes are not decoded,
 * a backslash in the name is refused), may have "filename" and/or
 * "filename*" (which make it a file part, even when empty: browsers send
 * filename="" for an empty file input), "Content-Type", a
 * "Content-Transfer-Encoding" of 7bit, 8bit or binary, and other headers,
 * which are ignored. A body with no parts ("--boundary--") is accepted.
 *
 * What is refused, so that no other parser can find a different part end or
 * a different field name or value in a body that passes here: the boundary
 * string ("--" boundary) anywhere but at the start of a well-formed delimiter
 * line preceded by CRLF (in content, in the preamble or in the epilogue, or
 * followed by anything but spaces/tabs and CRLF, or "--"); part headers with
 * a bare CR or LF, other control bytes, folded lines, whitespace before the
 * colon, a repeated Content-Disposition, Content-Type or
 * Content-Transfer-Encoding, a part's Content-Length (a reader that trusted
 * it could end the part elsewhere), a repeated or "name*" parameter, or a
 * quoted string whose end depends on whether backslash escapes are honoured;
 * part headers not closed by their own blank line (Go's reader would let the
 * delimiter's CRLF close them, others would not). Limits:
 * MULTIPART_PARTS_MAX parts, MULTIPART_HEADER_MAX bytes of header lines per
 * part, MULTIPART_NAME_MAX bytes of field name. */
#ifndef ROUTSTR_MULTIPART_H
#define ROUTSTR_MULTIPART_H

#include <stddef.h>

#define MULTIPART_BOUNDARY_MAX 70	/* RFC 2046: 1 to 70 characters */
#define MULTIPART_PARTS_MAX 64
#define MULTIPART_HEADER_MAX 8192	/* header lines of one part, CRLFs included */
#define MULTIPART_NAME_MAX 256		/* bytes of a field name */

enum multipart_err {
	MULTIPART_OK = 0,
	/* the body (answer 400 with multipart_strerror) */
	MULTIPART_BAD_BOUNDARY,		/* the boundary is not 1..70 RFC 2046 characters */
	MULTIPART_NO_BOUNDARY,		/* the body never starts a part */
	MULTIPART_BAD_DELIMITER,	/* boundary string out of place or its line malformed */
	MULTIPART_NO_CLOSE,		/* the body ends before the closing delimiter */
	MULTIPART_HEADER_TRUNCATED,	/* part headers not closed by a blank line */
	MULTIPART_HEADER_TOO_LARGE,
	MULTIPART_BAD_HEADER,		/* bare CR/LF, control byte, folding, no colon */
	MULTIPART_DUP_HEADER,
	MULTIPART_BAD_DISPOSITION,	/* no usable Content-Disposition: form-data; name */
	MULTIPART_NAME_TOO_LONG,
	MULTIPART_BAD_ENCODING,		/* Content-Length, or a Content-Transfer-Encoding
					 * that changes bytes */
	MULTIPART_TOO_MANY_PARTS,
	/* one field (answer 400 too; the caller may add the field's name) */
	MULTIPART_NOT_FOUND,
	MULTIPART_DUP_FIELD,		/* the name is used by more than one part */
	MULTIPART_NOT_TEXT,		/* the only part of that name is a file */
	MULTIPART_BAD_VALUE,		/* a NUL byte, or (new value) the boundary string */
	MULTIPART_TOO_LONG,		/* the value does not fit the caller's buffer */
	/* ours (answer 500) */
	MULTIPART_NOMEM,
	MULTIPART__MAX
};

/* One part. Every pointer is borrowed from the body given to multipart_parse
 * and none is NUL-terminated: use the lengths. */
struct multipart_part {
	const char *name;		/* the name parameter, as sent (quotes removed) */
	size_t name_len;		/* at most MULTIPART_NAME_MAX; may be 0 */
	const char *filename;		/* NULL for a text field; else the filename
					 * value as sent, or the raw filename* value
					 * (charset'lang'pct-encoded) when only that is
					 * there; filename_len may be 0 */
	size_t filename_len;
	const char *content_type;	/* the Content-Type header value, trimmed, or NULL */
	size_t content_type_len;
	const char *data;		/* the content: every byte between the blank
					 * line and the CRLF of the next delimiter */
	size_t data_len;
};

struct multipart {
	const char *body;		/* borrowed */
	size_t len;
	char boundary[MULTIPART_BOUNDARY_MAX + 1];
	size_t nparts;
	struct multipart_part parts[MULTIPART_PARTS_MAX];
	size_t err_off;			/* after a failure: body offset near the fault, for logs */
};

/* A message for an error, fit for the body of a 400 answer (or, for
 * MULTIPART_NOMEM, of a 500). Static storage. */
const char *multipart_strerror(enum multipart_err e);

/* Copy the boundary parameter of a Content-Type header value into out
 * (NUL-terminated; outsz of MULTIPART_BOUNDARY_MAX + 1 is always enough).
 * The media type must be multipart/form-data; type and parameter names are
 * case-insensitive, whitespace around ';' is allowed, other parameters are
 * skipped (quoted ones included), the value may be quoted (backslash escapes
 * honoured) or bare. Refused: no boundary, two boundary parameters, a value
 * that is not 1..70 RFC 2046 characters or ends in a space. Returns 0 or -1. */
int multipart_boundary(const char *content_type, char *out, size_t outsz);

/* Validate the whole body (len bytes, may hold NUL bytes) against boundary
 * (without its leading "--") and fill *m with its parts, in order. The body
 * is borrowed for as long as *m is used. On failure *m holds no parts and
 * m->err_off says where the fault was found. */
enum multipart_err multipart_parse(struct multipart *m, const char *body, size_t len,
    const char *boundary);

/* The value of the text field name (matched byte for byte) copied into out
 * (NUL-terminated, outsz bytes), its length in *outlen when outlen is not
 * NULL. MULTIPART_NOT_FOUND when no part has that name, MULTIPART_DUP_FIELD
 * when more than one does (text or file: the request is ambiguous),
 * MULTIPART_NOT_TEXT when the one part is a file, MULTIPART_BAD_VALUE when
 * the value holds a NUL byte, MULTIPART_TOO_LONG when it needs outsz bytes or
 * more. out is "" after any failure (out may be NULL when outsz is 0). */
enum multipart_err multipart_field(const struct multipart *m, const char *name, char *out,
    size_t outsz, size_t *outlen);

/* A copy of m's body in which the content of the text field name (same rules
 * as multipart_field) is value (vlen bytes), every other byte the same and in
 * place. Sets *out to the new body, which the caller frees with free(), and
 * *outlen to its length (a NUL follows, not counted); *out is NULL after a
 * failure. value may be NULL when vlen is 0. MULTIPART_BAD_VALUE
 * when value holds a NUL byte or "--" boundary, MULTIPART_NOMEM when the
 * copy cannot be allocated (it is as large as the body). */
enum multipart_err multipart_replace_field(const struct multipart *m, const char *name,
    const char *value, size_t vlen, char **out, size_t *outlen);

#endif
