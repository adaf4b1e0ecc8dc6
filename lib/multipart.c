/* multipart: see multipart.h. The parser makes one pass over the body with
 * memmem for "--" boundary: every occurrence must open a delimiter line, so
 * the parts are the spans between occurrences and no byte of content is
 * looked at twice. Header blocks are scanned byte by byte, within the
 * part's span and at most MULTIPART_HEADER_MAX bytes. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "multipart.h"

#define MP_NONE SIZE_MAX	/* mp_search: no occurrence */

static const char *const multipart_errstr[MULTIPART__MAX] = {
	[MULTIPART_OK] = "ok",
	[MULTIPART_BAD_BOUNDARY] = "multipart boundary is missing or invalid",
	[MULTIPART_NO_BOUNDARY] = "multipart body does not contain its boundary",
	[MULTIPART_BAD_DELIMITER] =
	    "multipart body has its boundary inside a part or a malformed boundary line",
	[MULTIPART_NO_CLOSE] = "multipart body ends without its closing boundary",
	[MULTIPART_HEADER_TRUNCATED] = "multipart part headers are not ended by a blank line",
	[MULTIPART_HEADER_TOO_LARGE] = "multipart part headers are larger than 8 KiB",
	[MULTIPART_BAD_HEADER] = "multipart part has a malformed header line",
	[MULTIPART_DUP_HEADER] = "multipart part repeats a header",
	[MULTIPART_BAD_DISPOSITION] =
	    "multipart part lacks a valid Content-Disposition: form-data with a name",
	[MULTIPART_NAME_TOO_LONG] = "multipart field name is longer than 256 bytes",
	[MULTIPART_BAD_ENCODING] =
	    "multipart part has a Content-Length or a Content-Transfer-Encoding other than binary",
	[MULTIPART_TOO_MANY_PARTS] = "multipart body has more than 64 parts",
	[MULTIPART_NOT_FOUND] = "multipart field is missing",
	[MULTIPART_DUP_FIELD] = "multipart field appears more than once",
	[MULTIPART_NOT_TEXT] = "multipart field is a file where text is expected",
	[MULTIPART_BAD_VALUE] = "multipart field value contains a NUL byte or the boundary",
	[MULTIPART_TOO_LONG] = "multipart field value is too long",
	[MULTIPART_NOMEM] = "out of memory",
};

/* See multipart.h. */
const char *
multipart_strerror(enum multipart_err e)
{
	if ((unsigned)e >= MULTIPART__MAX)
		return "unknown multipart error";
	return multipart_errstr[e];
}

/* ------------------------------------------------------ character classes */

static bool
mp_ows(int c)
{
	return c == ' ' || c == '\t';
}

static bool
mp_ctl(int c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* RFC 2046 bcharsnospace. */
static bool
mp_bchar(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("'()+_,-./:=?", c) != NULL);
}

/* RFC 9110 tchar. */
static bool
mp_tchar(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* 1..70 bchars, spaces allowed inside but not last (RFC 2046 boundary). */
static bool
mp_boundary_ok(const char *b, size_t n)
{
	size_t i;

	if (n == 0 || n > MULTIPART_BOUNDARY_MAX || !mp_bchar((unsigned char)b[n - 1]))
		return false;
	for (i = 0; i < n; i++)
		if (b[i] != ' ' && !mp_bchar((unsigned char)b[i]))
			return false;
	return true;
}

/* p[0..n) equals the lower-case ASCII literal lit, ignoring case. */
static bool
mp_ieq(const char *p, size_t n, const char *lit)
{
	size_t i;

	if (strlen(lit) != n)
		return false;
	for (i = 0; i < n; i++) {
		int c = (unsigned char)p[i];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c != lit[i])
			return false;
	}
	return true;
}

/* ----------------------------------------------------- Content-Type header */

/* See multipart.h. */
int
multipart_boundary(const char *content_type, char *out, size_t outsz)
{
	static const char mtype[] = "multipart/form-data";
	char val[MULTIPART_BOUNDARY_MAX + 1];
	const char *p = content_type;
	size_t n = 0, bn = 0;
	bool found = false;

	if (p == NULL)
		return -1;
	while (mp_ows(*p))
		p++;
	if (strlen(p) < sizeof(mtype) - 1 || !mp_ieq(p, sizeof(mtype) - 1, mtype))
		return -1;
	p += sizeof(mtype) - 1;
	for (;;) {
		const char *pn;
		bool isb;

		while (mp_ows(*p))
			p++;
		if (*p == '\0')
			break;
		if (*p++ != ';')
			return -1;
		while (mp_ows(*p))
			p++;
		if (*p == '\0')
			break;	/* a trailing ';' */
		for (pn = p; mp_tchar((unsigned char)*p); p++)
			;
		if (p == pn || *p != '=')
			return -1;
		isb = mp_ieq(pn, (size_t)(p - pn), "boundary");
		if (isb && found)
			return -1;	/* two boundaries: which one would the upstream take? */
		p++;
		n = 0;
		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				if (*p == '\\')
					p++;
				if (*p == '\0' || mp_ctl((unsigned char)*p))
					return -1;
				if (isb) {
					if (n == MULTIPART_BOUNDARY_MAX)
						return -1;
					val[n++] = *p;
				}
			}
			p++;
		} else {
			const char *v = p;

			while (*p != '\0' && *p != ';' && *p != '"' && !mp_ows(*p) &&
			    !mp_ctl((unsigned char)*p))
				p++;
			if (p == v)
				return -1;
			n = (size_t)(p - v);
			if (isb) {
				if (n > MULTIPART_BOUNDARY_MAX)
					return -1;
				memcpy(val, v, n);
			}
		}
		if (isb) {
			if (!mp_boundary_ok(val, n))
				return -1;
			found = true;
			bn = n;
		}
	}
	if (!found || outsz <= bn)
		return -1;
	memcpy(out, val, bn);
	out[bn] = '\0';
	return 0;
}

/* ------------------------------------------------------------ part headers */

/* The quoted string that starts at v[*i] (a '"'), in v[0..vn). Its end is
 * the first '"' both for a parser that honours backslash escapes (RFC 9110)
 * and for one that does not (HTML's form encoding, which escapes with %22);
 * when they would differ the string is refused. Sets *val, *vlen (the raw
 * bytes between the quotes) and *i past the closing quote. */
static int
mp_quoted(const char *v, size_t vn, size_t *i, const char **val, size_t *vlen)
{
	const char *dq;
	size_t k, start = *i + 1;

	dq = memchr(v + start, '"', vn - start);
	if (dq == NULL)
		return -1;
	for (k = start; k < vn; k++) {
		if (v[k] == '\\')
			k++;
		else if (v[k] == '"')
			break;
	}
	if (v + k != dq)
		return -1;
	*val = v + start;
	*vlen = k - start;
	*i = k + 1;
	return 0;
}

/* Content-Disposition: form-data; name="..."[; filename="..."] into pt. */
static enum multipart_err
mp_disposition(struct multipart_part *pt, const char *v, size_t vn)
{
	bool have_fn = false, have_fnx = false;
	size_t i = 9;

	if (vn < 9 || !mp_ieq(v, 9, "form-data"))
		return MULTIPART_BAD_DISPOSITION;
	for (;;) {
		const char *val;
		size_t pn, pl, vlen;

		while (i < vn && mp_ows(v[i]))
			i++;
		if (i == vn)
			break;
		if (v[i++] != ';')
			return MULTIPART_BAD_DISPOSITION;
		while (i < vn && mp_ows(v[i]))
			i++;
		if (i == vn)
			break;	/* a trailing ';' */
		for (pn = i; i < vn && mp_tchar((unsigned char)v[i]); i++)
			;
		pl = i - pn;
		if (pl == 0 || i == vn || v[i++] != '=')
			return MULTIPART_BAD_DISPOSITION;
		if (i < vn && v[i] == '"') {
			if (mp_quoted(v, vn, &i, &val, &vlen) != 0)
				return MULTIPART_BAD_DISPOSITION;
		} else {
			for (val = v + i; i < vn && mp_tchar((unsigned char)v[i]); i++)
				;
			vlen = (size_t)(v + i - val);
			if (vlen == 0)
				return MULTIPART_BAD_DISPOSITION;
		}
		if (mp_ieq(v + pn, pl, "name")) {
			/* Go's mime package unescapes a backslash, undici does not:
			 * they would read different names. */
			if (pt->name != NULL || memchr(val, '\\', vlen) != NULL)
				return MULTIPART_BAD_DISPOSITION;
			if (vlen > MULTIPART_NAME_MAX)
				return MULTIPART_NAME_TOO_LONG;
			pt->name = val;
			pt->name_len = vlen;
		} else if (mp_ieq(v + pn, pl, "filename")) {
			if (have_fn)
				return MULTIPART_BAD_DISPOSITION;
			have_fn = true;
			pt->filename = val;
			pt->filename_len = vlen;
		} else if (mp_ieq(v + pn, pl, "filename*")) {
			if (have_fnx)
				return MULTIPART_BAD_DISPOSITION;
			have_fnx = true;
			if (!have_fn) {
				pt->filename = val;
				pt->filename_len = vlen;
			}
		} else if (mp_ieq(v + pn, pl, "name*")) {
			return MULTIPART_BAD_DISPOSITION;	/* RFC 7578 4.2: not used */
		}
	}
	return pt->name != NULL ? MULTIPART_OK : MULTIPART_BAD_DISPOSITION;
}

/* Which headers a part has had, to refuse repeats. */
struct mp_seen {
	bool cd, ct, cte;
};

/* One header line (without its CRLF): name ':' OWS value OWS. */
static enum multipart_err
mp_header(struct multipart_part *pt, struct mp_seen *seen, const char *l, size_t n)
{
	const char *colon = memchr(l, ':', n), *v;
	size_t i, nl, vn;

	if (colon == NULL || colon == l)
		return MULTIPART_BAD_HEADER;
	nl = (size_t)(colon - l);
	for (i = 0; i < nl; i++)
		if (!mp_tchar((unsigned char)l[i]))
			return MULTIPART_BAD_HEADER;	/* whitespace before ':' included */
	v = colon + 1;
	vn = n - nl - 1;
	while (vn > 0 && mp_ows(*v)) {
		v++;
		vn--;
	}
	while (vn > 0 && mp_ows(v[vn - 1]))
		vn--;
	if (mp_ieq(l, nl, "content-disposition")) {
		if (seen->cd)
			return MULTIPART_DUP_HEADER;
		seen->cd = true;
		return mp_disposition(pt, v, vn);
	}
	if (mp_ieq(l, nl, "content-type")) {
		if (seen->ct)
			return MULTIPART_DUP_HEADER;
		seen->ct = true;
		pt->content_type = v;
		pt->content_type_len = vn;
	} else if (mp_ieq(l, nl, "content-transfer-encoding")) {
		if (seen->cte)
			return MULTIPART_DUP_HEADER;
		seen->cte = true;
		if (!mp_ieq(v, vn, "binary") && !mp_ieq(v, vn, "8bit") && !mp_ieq(v, vn, "7bit"))
			return MULTIPART_BAD_ENCODING;
	} else if (mp_ieq(l, nl, "content-length")) {
		/* A reader that trusted it could end the part elsewhere, and a
		 * replaced value would make it wrong. No client sends one. */
		return MULTIPART_BAD_ENCODING;
	}
	return MULTIPART_OK;
}

/* The header block of the part in body[start..end) (end: the CR of the next
 * delimiter, or the body's end). Sets *data_off to the first content byte,
 * or *err_off to the fault. */
static enum multipart_err
mp_headers(struct multipart_part *pt, const char *body, size_t start, size_t end,
    size_t *data_off, size_t *err_off)
{
	struct mp_seen seen = { .cd = false };
	enum multipart_err rc;
	size_t ls = start, le;

	for (;;) {
		for (le = ls; le < end && body[le] != '\r'; le++) {
			if (le - start >= MULTIPART_HEADER_MAX) {
				*err_off = le;
				return MULTIPART_HEADER_TOO_LARGE;
			}
			if (body[le] == '\n' || mp_ctl((unsigned char)body[le])) {
				*err_off = le;
				return MULTIPART_BAD_HEADER;
			}
		}
		*err_off = le;
		if (le + 1 >= end)
			return MULTIPART_HEADER_TRUNCATED;
		if (body[le + 1] != '\n')
			return MULTIPART_BAD_HEADER;	/* bare CR */
		if (le == ls)
			break;	/* the blank line */
		if (le + 2 - start > MULTIPART_HEADER_MAX)
			return MULTIPART_HEADER_TOO_LARGE;
		*err_off = ls;
		if (mp_ows(body[ls]))
			return MULTIPART_BAD_HEADER;	/* obsolete line folding */
		if ((rc = mp_header(pt, &seen, body + ls, le - ls)) != MULTIPART_OK)
			return rc;
		ls = le + 2;
	}
	*err_off = start;
	if (!seen.cd)
		return MULTIPART_BAD_DISPOSITION;
	*data_off = le + 2;
	return MULTIPART_OK;
}

/* ------------------------------------------------------------------- body */

/* Offset of the first pat[0..plen) in body[from..len), or MP_NONE. */
static size_t
mp_search(const char *body, size_t len, size_t from, const char *pat, size_t plen)
{
	const char *p;

	if (from >= len)
		return MP_NONE;
	p = memmem(body + from, len - from, pat, plen);
	return p != NULL ? (size_t)(p - body) : MP_NONE;
}

/* The rest of a delimiter line, from at (just past "--" boundary): "--" for
 * the closing one, then spaces or tabs, then CRLF (or, when closing, the
 * end of the body). Sets *next past the line and *close. */
static enum multipart_err
mp_delimiter(const char *body, size_t len, size_t at, size_t *next, bool *close)
{
	size_t i = at;

	*close = false;
	if (i + 1 < len && body[i] == '-' && body[i + 1] == '-') {
		*close = true;
		i += 2;
	}
	while (i < len && mp_ows(body[i]))
		i++;
	if (i == len || (i + 1 == len && body[i] == '\r')) {
		if (!*close)
			return MULTIPART_NO_CLOSE;
		if (i == len) {
			*next = len;
			return MULTIPART_OK;
		}
		return MULTIPART_BAD_DELIMITER;
	}
	if (i + 1 == len && body[i] == '-' && !*close)
		return MULTIPART_NO_CLOSE;	/* cut inside the closing "--" */
	if (body[i] != '\r' || body[i + 1] != '\n')
		return MULTIPART_BAD_DELIMITER;
	*next = i + 2;
	return MULTIPART_OK;
}

/* See multipart.h. */
enum multipart_err
multipart_parse(struct multipart *m, const char *body, size_t len, const char *boundary)
{
	char dash[2 + MULTIPART_BOUNDARY_MAX];
	enum multipart_err rc;
	size_t blen, dlen, q, pos = 0, start, end, data_off = 0;
	bool close;

	m->body = body;
	m->len = len;
	m->nparts = 0;
	m->err_off = 0;
	m->boundary[0] = '\0';
	blen = strnlen(boundary, MULTIPART_BOUNDARY_MAX + 1);
	if (!mp_boundary_ok(boundary, blen))
		return MULTIPART_BAD_BOUNDARY;
	memcpy(m->boundary, boundary, blen);
	m->boundary[blen] = '\0';
	memcpy(dash, "--", 2);
	memcpy(dash + 2, boundary, blen);
	dlen = blen + 2;

	/* The first delimiter opens the body or follows the preamble's CRLF. */
	q = mp_search(body, len, 0, dash, dlen);
	if (q == MP_NONE) {
		rc = MULTIPART_NO_BOUNDARY;
		goto fail;
	}
	if (q != 0 && (q < 2 || body[q - 2] != '\r' || body[q - 1] != '\n')) {
		rc = MULTIPART_BAD_DELIMITER;
		pos = q;
		goto fail;
	}
	for (;;) {
		struct multipart_part *pt;

		pos = q;
		if ((rc = mp_delimiter(body, len, q + dlen, &start, &close)) != MULTIPART_OK)
			goto fail;
		if (close)
			break;
		pos = start;
		if (m->nparts == MULTIPART_PARTS_MAX) {
			rc = MULTIPART_TOO_MANY_PARTS;
			goto fail;
		}
		/* The next occurrence ends this part; it must be a delimiter. */
		q = mp_search(body, len, start, dash, dlen);
		if (q == start) {
			rc = MULTIPART_HEADER_TRUNCATED;	/* no headers at all */
			goto fail;
		}
		if (q != MP_NONE && (body[q - 2] != '\r' || body[q - 1] != '\n')) {
			rc = MULTIPART_BAD_DELIMITER;
			pos = q;
			goto fail;
		}
		end = q == MP_NONE ? len : q - 2;
		pt = &m->parts[m->nparts];
		memset(pt, 0, sizeof(*pt));
		if ((rc = mp_headers(pt, body, start, end, &data_off, &pos)) != MULTIPART_OK)
			goto fail;
		if (q == MP_NONE) {
			rc = MULTIPART_NO_CLOSE;
			pos = len;
			goto fail;
		}
		pt->data = body + data_off;
		pt->data_len = end - data_off;
		m->nparts++;
	}
	/* Nothing after the end may look like a delimiter either. */
	pos = mp_search(body, len, start, dash, dlen);
	if (pos != MP_NONE) {
		rc = MULTIPART_BAD_DELIMITER;
		goto fail;
	}
	return MULTIPART_OK;
fail:
	m->nparts = 0;
	m->err_off = pos;
	return rc;
}

/* ----------------------------------------------------------------- fields */

/* The one text part called name. */
static enum multipart_err
mp_lookup(const struct multipart *m, const char *name, const struct multipart_part **out)
{
	const struct multipart_part *found = NULL;
	size_t i, n = strlen(name);

	*out = NULL;
	for (i = 0; i < m->nparts; i++) {
		const struct multipart_part *pt = &m->parts[i];

		if (pt->name_len != n || memcmp(pt->name, name, n) != 0)
			continue;
		if (found != NULL)
			return MULTIPART_DUP_FIELD;
		found = pt;
	}
	if (found == NULL)
		return MULTIPART_NOT_FOUND;
	if (found->filename != NULL)
		return MULTIPART_NOT_TEXT;
	*out = found;
	return MULTIPART_OK;
}

/* See multipart.h. */
enum multipart_err
multipart_field(const struct multipart *m, const char *name, char *out, size_t outsz,
    size_t *outlen)
{
	const struct multipart_part *pt;
	enum multipart_err rc;

	if (outsz > 0)
		out[0] = '\0';
	if (outlen != NULL)
		*outlen = 0;
	if ((rc = mp_lookup(m, name, &pt)) != MULTIPART_OK)
		return rc;
	if (memchr(pt->data, '\0', pt->data_len) != NULL)
		return MULTIPART_BAD_VALUE;
	if (pt->data_len >= outsz)
		return MULTIPART_TOO_LONG;
	memcpy(out, pt->data, pt->data_len);
	out[pt->data_len] = '\0';
	if (outlen != NULL)
		*outlen = pt->data_len;
	return MULTIPART_OK;
}

/* See multipart.h. */
enum multipart_err
multipart_replace_field(const struct multipart *m, const char *name, const char *value,
    size_t vlen, char **out, size_t *outlen)
{
	const struct multipart_part *pt;
	enum multipart_err rc;
	char dash[2 + MULTIPART_BOUNDARY_MAX];
	size_t head, tail, dlen = strlen(m->boundary) + 2;
	char *nb;

	*out = NULL;
	*outlen = 0;
	if ((rc = mp_lookup(m, name, &pt)) != MULTIPART_OK)
		return rc;
	memcpy(dash, "--", 2);
	memcpy(dash + 2, m->boundary, dlen - 2);
	/* The value sits between "\r\n" and "\r\n--": only a NUL (for the
	 * readers of C strings) or a boundary of its own could change the
	 * structure. */
	if (vlen > 0 && (memchr(value, '\0', vlen) != NULL ||
	    memmem(value, vlen, dash, dlen) != NULL))
		return MULTIPART_BAD_VALUE;
	head = (size_t)(pt->data - m->body);
	tail = m->len - head - pt->data_len;
	if (vlen > SIZE_MAX - 1 - head - tail)
		return MULTIPART_NOMEM;
	/* As large as the client's body: fail cleanly rather than abort. */
	nb = malloc(head + vlen + tail + 1);
	if (nb == NULL)
		return MULTIPART_NOMEM;
	memcpy(nb, m->body, head);
	if (vlen > 0)
		memcpy(nb + head, value, vlen);
	memcpy(nb + head + vlen, pt->data + pt->data_len, tail);
	nb[head + vlen + tail] = '\0';
	*out = nb;
	*outlen = head + vlen + tail;
	return MULTIPART_OK;
}
