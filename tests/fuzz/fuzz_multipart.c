/* Fuzz harness for lib/multipart. An input is a Content-Type line, '\n',
 * then the body (the seeds in tests/fuzz/corpus/multipart are so made); when
 * the line yields no boundary, the body is parsed with the boundary "b".
 * Every accepted body must keep the parser's promises: parts in order inside
 * the body, each content followed by CRLF "--" boundary and holding no
 * "--" boundary; field lookups that agree with the parts; a replaced field
 * that leaves every other byte in place and parses back to the same parts.
 * A violation aborts, so libFuzzer reports it like a crash. Built with
 * libFuzzer when clang is there, otherwise linked with driver.c. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "multipart.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FAIL(...) do { fprintf(stderr, "fuzz_multipart: " __VA_ARGS__); \
	fputc('\n', stderr); abort(); } while (0)

#define FUZZ_CT_MAX 256

static void
fuzz_boundary(const char *ct, char *b, size_t bsz)
{
	char again[MULTIPART_BOUNDARY_MAX + 1], canon[FUZZ_CT_MAX];
	size_t n, i;

	if (multipart_boundary(ct, b, bsz) != 0) {
		snprintf(b, bsz, "b");
		return;
	}
	n = strlen(b);
	if (n == 0 || n > MULTIPART_BOUNDARY_MAX || b[n - 1] == ' ')
		FUZZ_FAIL("boundary of length %zu accepted", n);
	for (i = 0; i < n; i++)
		if (strchr("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "'()+_,-./:=? ", b[i]) == NULL)
			FUZZ_FAIL("boundary character 0x%02x accepted", (unsigned char)b[i]);
	/* the canonical spelling gives the same boundary */
	snprintf(canon, sizeof(canon), "multipart/form-data; boundary=\"%s\"", b);
	if (multipart_boundary(canon, again, sizeof(again)) != 0 || strcmp(again, b) != 0)
		FUZZ_FAIL("boundary does not survive quoting");
}

/* The parts of an accepted body. */
static void
fuzz_structure(const struct multipart *m, const char *body, size_t len)
{
	char dash[2 + MULTIPART_BOUNDARY_MAX + 2];
	const char *prev = body;
	size_t i, dl;

	dl = (size_t)snprintf(dash, sizeof(dash), "\r\n--%s", m->boundary);
	if (m->nparts > MULTIPART_PARTS_MAX)
		FUZZ_FAIL("%zu parts", m->nparts);
	for (i = 0; i < m->nparts; i++) {
		const struct multipart_part *p = &m->parts[i];
		const char *end = p->data + p->data_len;

		if (p->data < prev || end > body + len || p->data - body < 4 ||
		    memcmp(p->data - 4, "\r\n\r\n", 4) != 0)
			FUZZ_FAIL("part %zu content out of place", i);
		if (p->name == NULL || p->name < prev || p->name + p->name_len > p->data ||
		    p->name_len > MULTIPART_NAME_MAX)
			FUZZ_FAIL("part %zu name out of place", i);
		if ((p->filename != NULL && (p->filename < prev ||
		    p->filename + p->filename_len > p->data)) ||
		    (p->content_type != NULL && (p->content_type < prev ||
		    p->content_type + p->content_type_len > p->data)))
			FUZZ_FAIL("part %zu header out of place", i);
		if ((size_t)(body + len - end) < dl || memcmp(end, dash, dl) != 0)
			FUZZ_FAIL("part %zu not ended by a delimiter", i);
		if (memmem(p->data, p->data_len, dash + 2, dl - 2) != NULL)
			FUZZ_FAIL("part %zu holds its boundary", i);
		prev = end + dl;
	}
}

/* multipart_field agrees with the parts for every NUL-free name. */
static void
fuzz_fields(const struct multipart *m)
{
	char name[MULTIPART_NAME_MAX + 1], out[512];
	size_t i, j, n;

	for (i = 0; i < m->nparts; i++) {
		const struct multipart_part *p = &m->parts[i], *one = NULL;
		enum multipart_err rc, want;
		size_t count = 0;

		if (memchr(p->name, '\0', p->name_len) != NULL)
			continue;
		memcpy(name, p->name, p->name_len);
		name[p->name_len] = '\0';
		for (j = 0; j < m->nparts; j++)
			if (m->parts[j].name_len == p->name_len &&
			    memcmp(m->parts[j].name, p->name, p->name_len) == 0) {
				count++;
				one = &m->parts[j];
			}
		if (count > 1)
			want = MULTIPART_DUP_FIELD;
		else if (one->filename != NULL)
			want = MULTIPART_NOT_TEXT;
		else if (memchr(one->data, '\0', one->data_len) != NULL)
			want = MULTIPART_BAD_VALUE;
		else if (one->data_len >= sizeof(out))
			want = MULTIPART_TOO_LONG;
		else
			want = MULTIPART_OK;
		rc = multipart_field(m, name, out, sizeof(out), &n);
		if (rc != want)
			FUZZ_FAIL("field: got %d, want %d", rc, want);
		if (rc == MULTIPART_OK && (n != one->data_len || memcmp(out, one->data, n) != 0 ||
		    out[n] != '\0'))
			FUZZ_FAIL("field value differs from the part");
	}
}

/* Replace the first unique text field with value: the rest stays in place
 * and the new body parses to the same parts. */
static void
fuzz_replace(const struct multipart *m, const char *value)
{
	struct multipart *r;
	const struct multipart_part *old = NULL;
	char name[MULTIPART_NAME_MAX + 1], *nb;
	size_t i, vlen = strlen(value), nlen, head, tail;

	for (i = 0; i < m->nparts && old == NULL; i++) {
		const struct multipart_part *p = &m->parts[i];

		if (memchr(p->name, '\0', p->name_len) != NULL)
			continue;
		memcpy(name, p->name, p->name_len);
		name[p->name_len] = '\0';
		if (multipart_field(m, name, NULL, 0, NULL) == MULTIPART_TOO_LONG)
			old = p;	/* text, unique, NUL-free (any value needs a byte) */
	}
	if (old == NULL)
		return;
	if (multipart_replace_field(m, name, value, vlen, &nb, &nlen) != MULTIPART_OK)
		FUZZ_FAIL("replace refused");
	head = (size_t)(old->data - m->body);
	tail = m->len - head - old->data_len;
	if (nlen != head + vlen + tail || memcmp(nb, m->body, head) != 0 ||
	    memcmp(nb + head, value, vlen) != 0 ||
	    memcmp(nb + head + vlen, old->data + old->data_len, tail) != 0)
		FUZZ_FAIL("replace moved other bytes");
	r = xmalloc(sizeof(*r));
	if (multipart_parse(r, nb, nlen, m->boundary) != MULTIPART_OK || r->nparts != m->nparts)
		FUZZ_FAIL("replaced body does not parse back");
	for (i = 0; i < m->nparts; i++) {
		const struct multipart_part *p = &m->parts[i], *q = &r->parts[i];

		if (q->name_len != p->name_len || memcmp(q->name, p->name, p->name_len) != 0 ||
		    (q->filename == NULL) != (p->filename == NULL))
			FUZZ_FAIL("replace changed part %zu", i);
		if (p == old ? q->data_len != vlen || memcmp(q->data, value, vlen) != 0 :
		    q->data_len != p->data_len || memcmp(q->data, p->data, p->data_len) != 0)
			FUZZ_FAIL("replace changed the content of part %zu", i);
	}
	free(r);
	free(nb);
}

/* libFuzzer entry point; also called by driver.c. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char ct[FUZZ_CT_MAX], boundary[MULTIPART_BOUNDARY_MAX + 1];
	const uint8_t *nl;
	const char *body = (const char *)data;
	struct multipart *m;
	enum multipart_err rc;
	size_t len = size, n = 0;
	char *copy;

	nl = size ? memchr(data, '\n', size < FUZZ_CT_MAX ? size : FUZZ_CT_MAX) : NULL;
	if (nl != NULL) {
		n = (size_t)(nl - data);
		body = (const char *)nl + 1;
		len = size - n - 1;
	}
	if (n > 0)
		memcpy(ct, data, n);
	ct[n] = '\0';
	fuzz_boundary(ct, boundary, sizeof(boundary));

	/* a copy of exactly len bytes, so ASan sees any read past the body */
	copy = xmalloc(len ? len : 1);
	if (len > 0)
		memcpy(copy, body, len);
	m = xmalloc(sizeof(*m));
	rc = multipart_parse(m, copy, len, boundary);
	if ((unsigned)rc >= MULTIPART__MAX || multipart_strerror(rc)[0] == '\0')
		FUZZ_FAIL("error %d", rc);
	if (rc != MULTIPART_OK) {
		if (m->nparts != 0 || m->err_off > len)
			FUZZ_FAIL("failure with parts or offset %zu past %zu", m->err_off, len);
	} else {
		fuzz_structure(m, copy, len);
		fuzz_fields(m);
		fuzz_replace(m, "openai/whisper-large-v3-turbo");
		fuzz_replace(m, "");
	}
	free(m);
	free(copy);
	return 0;
}
