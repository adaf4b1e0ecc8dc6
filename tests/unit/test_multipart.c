/* Check suite for lib/multipart: the Content-Type boundary; bodies as curl,
 * Python requests and the OpenAI Node SDK write them (tests/data/multipart,
 * captured by capture.sh there) and as formdata-node and browsers do; binary
 * content that looks like multipart syntax; every refusal; field lookup and
 * replacement that leaves every other byte in place. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "multipart.h"
#include "testlib.h"

#define CD(name) "Content-Disposition: form-data; name=\"" name "\"\r\n"

/* Parse a NUL-free literal body. */
static enum multipart_err
parse(struct multipart *m, const char *body, const char *boundary)
{
	return multipart_parse(m, body, strlen(body), boundary);
}

/* Part i has this name, filename (NULL: a text field), Content-Type (NULL:
 * none) and content. */
static void
ck_part(const struct multipart *m, size_t i, const char *name, const char *filename,
    const char *ctype, const char *data, size_t dlen)
{
	const struct multipart_part *p;

	ck_assert_uint_lt(i, m->nparts);
	p = &m->parts[i];
	ck_assert_uint_eq(p->name_len, strlen(name));
	ck_assert(memcmp(p->name, name, p->name_len) == 0);
	if (filename == NULL) {
		ck_assert_ptr_null(p->filename);
	} else {
		ck_assert_ptr_nonnull(p->filename);
		ck_assert_uint_eq(p->filename_len, strlen(filename));
		ck_assert(memcmp(p->filename, filename, p->filename_len) == 0);
	}
	if (ctype == NULL) {
		ck_assert_ptr_null(p->content_type);
	} else {
		ck_assert_ptr_nonnull(p->content_type);
		ck_assert_uint_eq(p->content_type_len, strlen(ctype));
		ck_assert(memcmp(p->content_type, ctype, p->content_type_len) == 0);
	}
	ck_assert_uint_eq(p->data_len, dlen);
	ck_assert(dlen == 0 || memcmp(p->data, data, dlen) == 0);
	ck_assert(p->data >= m->body && p->data + p->data_len <= m->body + m->len);
}

static void
ck_field(const struct multipart *m, const char *name, const char *want)
{
	char out[256];
	size_t n = 99;

	ck_assert_int_eq(multipart_field(m, name, out, sizeof(out), &n), MULTIPART_OK);
	ck_assert_str_eq(out, want);
	ck_assert_uint_eq(n, strlen(want));
}

/* ---------------------------------------------------------------- boundary */

START_TEST(boundary_from_content_type)
{
	static const struct {
		const char *ct, *want;	/* want NULL: refused */
	} t[] = {
		{ "multipart/form-data; boundary=abc", "abc" },
		{ "  Multipart/Form-Data;BOUNDARY=abc  ", "abc" },
		{ "multipart/form-data ; boundary = abc", NULL },	/* no OWS around '=' */
		{ "multipart/form-data; boundary=----formdata-undici-047814239928",
		  "----formdata-undici-047814239928" },
		{ "multipart/form-data; charset=utf-8; boundary=\"simple boundary\"",
		  "simple boundary" },
		{ "multipart/form-data; boundary=\"a\\bc\"", "abc" },
		{ "multipart/form-data; boundary=\"a\\\"b\"", NULL },	/* '"' is no bchar */
		{ "multipart/form-data; boundary=----=_Part_0_1.2", "----=_Part_0_1.2" },
		{ "multipart/form-data; x=\"; boundary=evil\"; boundary=good", "good" },
		{ "multipart/form-data; boundary=abc;", "abc" },
		{ "multipart/form-data; boundary=abc; boundary=abc", NULL },
		{ "multipart/form-data; boundary=", NULL },
		{ "multipart/form-data; boundary=\"\"", NULL },
		{ "multipart/form-data; boundary=\"abc \"", NULL },
		{ "multipart/form-data; boundary=\"abc", NULL },
		{ "multipart/form-data; boundary=abc def", NULL },
		{ "multipart/form-data; boundary=abc@def", NULL },
		{ "multipart/form-data; boundary=ab\x01", NULL },
		{ "multipart/form-data", NULL },
		{ "multipart/form-data; charset=utf-8", NULL },
		{ "multipart/form-dataX; boundary=abc", NULL },
		{ "multipart/mixed; boundary=abc", NULL },
		{ "text/plain; boundary=abc", NULL },
		{ "", NULL },
	};
	char out[MULTIPART_BOUNDARY_MAX + 1], ct[128];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = multipart_boundary(t[i].ct, out, sizeof(out));

		if (t[i].want == NULL) {
			ck_assert_msg(rc == -1, "accepted %s", t[i].ct);
		} else {
			ck_assert_msg(rc == 0, "refused %s", t[i].ct);
			ck_assert_str_eq(out, t[i].want);
		}
	}
	ck_assert_int_eq(multipart_boundary(NULL, out, sizeof(out)), -1);
	ck_assert_int_eq(multipart_boundary("multipart/form-data; boundary=abc", out, 3), -1);
	ck_assert_int_eq(multipart_boundary("multipart/form-data; boundary=abc", out, 4), 0);
	/* 70 characters, not 71 */
	snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%.70s",
	    "0123456789012345678901234567890123456789012345678901234567890123456789X");
	ck_assert_int_eq(multipart_boundary(ct, out, sizeof(out)), 0);
	ck_assert_uint_eq(strlen(out), 70);
	snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%.71s",
	    "0123456789012345678901234567890123456789012345678901234567890123456789X");
	ck_assert_int_eq(multipart_boundary(ct, out, sizeof(out)), -1);
	snprintf(ct, sizeof(ct), "multipart/form-data; boundary=\"%.71s\"",
	    "0123456789012345678901234567890123456789012345678901234567890123456789X");
	ck_assert_int_eq(multipart_boundary(ct, out, sizeof(out)), -1);
}
END_TEST

/* ----------------------------------------------------------- real clients */

/* A captured body and its boundary; the caller frees *body. */
static void
load(const char *name, char **body, size_t *len, char *boundary)
{
	char path[128], *ct;
	size_t n;

	snprintf(path, sizeof(path), "multipart/%s.ctype", name);
	ct = tl_data(path, &n);
	ck_assert(n > 0 && ct[n - 1] == '\n');
	ct[n - 1] = '\0';
	ck_assert_int_eq(multipart_boundary(ct, boundary, MULTIPART_BOUNDARY_MAX + 1), 0);
	free(ct);
	snprintf(path, sizeof(path), "multipart/%s.body", name);
	*body = tl_data(path, len);
}

/* The uploaded file of every capture: 443 bytes that look like multipart
 * syntax, with a fake part named model inside. */
static void
ck_wav(const struct multipart_part *p)
{
	static const char fake[] = "\r\n" CD("model") "\r\nevil\r\n";

	ck_assert_uint_eq(p->data_len, 443);
	ck_assert(memcmp(p->data, "RIFF", 4) == 0);
	ck_assert_ptr_nonnull(memchr(p->data, '\0', p->data_len));
	ck_assert_ptr_nonnull(memmem(p->data, p->data_len, fake, sizeof(fake) - 1));
	ck_assert_ptr_nonnull(memmem(p->data, p->data_len, "\r\n------------------------", 26));
	ck_assert_ptr_nonnull(memmem(p->data, p->data_len, "\r\n------formdata-undici-0", 25));
}

START_TEST(curl_form)
{
	char boundary[MULTIPART_BOUNDARY_MAX + 1], *body;
	struct multipart m;
	size_t len;

	load("curl", &body, &len, boundary);
	ck_assert_int_eq(strncmp(boundary, "------------------------", 24), 0);
	ck_assert_int_eq(multipart_parse(&m, body, len, boundary), MULTIPART_OK);
	ck_assert_uint_eq(m.nparts, 4);
	ck_part(&m, 0, "model", NULL, NULL, "whisper-1", 9);
	ck_part(&m, 1, "file", "a.wav", "audio/wav", m.parts[1].data, m.parts[1].data_len);
	ck_wav(&m.parts[1]);
	ck_part(&m, 2, "language", NULL, NULL, "en", 2);
	ck_part(&m, 3, "prompt", NULL, NULL, "", 0);
	ck_field(&m, "model", "whisper-1");
	ck_field(&m, "prompt", "");
	free(body);
}
END_TEST

START_TEST(python_requests)
{
	char boundary[MULTIPART_BOUNDARY_MAX + 1], *body;
	struct multipart m;
	size_t len;

	load("requests", &body, &len, boundary);
	ck_assert_uint_eq(strlen(boundary), 32);
	ck_assert_int_eq(multipart_parse(&m, body, len, boundary), MULTIPART_OK);
	ck_assert_uint_eq(m.nparts, 4);
	ck_part(&m, 0, "model", NULL, NULL, "whisper-1", 9);
	ck_part(&m, 1, "prompt", NULL, NULL, "", 0);
	ck_part(&m, 2, "response_format", NULL, NULL, "json", 4);
	ck_part(&m, 3, "file", "a.wav", "audio/wav", m.parts[3].data, m.parts[3].data_len);
	ck_wav(&m.parts[3]);
	free(body);
}
END_TEST

START_TEST(openai_node_sdk)
{
	char boundary[MULTIPART_BOUNDARY_MAX + 1], *body;
	struct multipart m;
	size_t len;

	load("openai-node-transcription", &body, &len, boundary);
	ck_assert_int_eq(strncmp(boundary, "----formdata-undici-0", 21), 0);
	ck_assert_int_eq(multipart_parse(&m, body, len, boundary), MULTIPART_OK);
	ck_assert_uint_eq(m.nparts, 5);
	ck_part(&m, 0, "file", "a.wav", "audio/wav", m.parts[0].data, m.parts[0].data_len);
	ck_wav(&m.parts[0]);
	ck_part(&m, 1, "model", NULL, NULL, "whisper-1", 9);
	ck_part(&m, 2, "language", NULL, NULL, "en", 2);
	ck_part(&m, 3, "response_format", NULL, NULL, "json", 4);
	ck_part(&m, 4, "prompt", NULL, NULL, "", 0);
	/* the model part inside the file is content, not a field */
	ck_field(&m, "model", "whisper-1");
	free(body);

	load("openai-node-images-edit", &body, &len, boundary);
	ck_assert_int_eq(multipart_parse(&m, body, len, boundary), MULTIPART_OK);
	ck_assert_uint_eq(m.nparts, 6);
	ck_part(&m, 0, "image", "a.png", "image/png", m.parts[0].data, m.parts[0].data_len);
	ck_wav(&m.parts[0]);
	ck_field(&m, "prompt", "a cat");
	ck_field(&m, "model", "gpt-image-1");
	ck_field(&m, "n", "2");
	ck_field(&m, "size", "1024x1024");
	ck_field(&m, "quality", "high");
	ck_assert_int_eq(multipart_field(&m, "image", NULL, 0, NULL), MULTIPART_NOT_TEXT);
	ck_assert_int_eq(multipart_field(&m, "stream", NULL, 0, NULL), MULTIPART_NOT_FOUND);
	free(body);
}
END_TEST

/* formdata-node (form-data-encoder), which older OpenAI Node SDKs used, ends
 * with two CRLFs: the second is an epilogue. */
START_TEST(formdata_node_epilogue)
{
	static const char body[] =
	    "--form-data-boundary-a1b2c3d4e5f6g7h8\r\n"
	    CD("model") "\r\n"
	    "whisper-1\r\n"
	    "--form-data-boundary-a1b2c3d4e5f6g7h8\r\n"
	    "Content-Disposition: form-data; name=\"file\"; filename=\"a.mp3\"\r\n"
	    "Content-Type: audio/mpeg\r\n"
	    "\r\n"
	    "ID3\0\r\n--\r\n--form-data-boundary-a1b2c3d4e5f6g7h\r\n"
	    "--form-data-boundary-a1b2c3d4e5f6g7h8--\r\n"
	    "\r\n";
	static const char file[] = "ID3\0\r\n--\r\n--form-data-boundary-a1b2c3d4e5f6g7h";
	struct multipart m;

	ck_assert_int_eq(multipart_parse(&m, body, sizeof(body) - 1,
	    "form-data-boundary-a1b2c3d4e5f6g7h8"), MULTIPART_OK);
	ck_assert_uint_eq(m.nparts, 2);
	ck_part(&m, 0, "model", NULL, NULL, "whisper-1", 9);
	ck_part(&m, 1, "file", "a.mp3", "audio/mpeg", file, sizeof(file) - 1);
}
END_TEST

/* A browser's empty file input, an unquoted name, a filename*, a
 * Content-Transfer-Encoding that changes nothing, a Windows path. */
START_TEST(browser_and_variants)
{
	static const char body[] =
	    "------WebKitFormBoundary7MA4YWxkTrZu0gW\r\n"
	    "Content-Disposition: form-data; name=\"mask\"; filename=\"\"\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "\r\n"
	    "\r\n"
	    "------WebKitFormBoundary7MA4YWxkTrZu0gW\r\n"
	    "content-disposition: FORM-DATA; name=model\r\n"
	    "Content-Transfer-Encoding: binary\r\n"
	    "X-Other:\tignored  \r\n"
	    "\r\n"
	    "dall-e-2\r\n"
	    "------WebKitFormBoundary7MA4YWxkTrZu0gW\r\n"
	    "Content-Disposition: form-data; name=\"image\"; filename*=UTF-8''%e2%82%ac.png\r\n"
	    "Content-Type:image/png\r\n"
	    "\r\n"
	    "\x89PNG\r\n"
	    "------WebKitFormBoundary7MA4YWxkTrZu0gW\r\n"
	    "Content-Disposition: form-data; name=\"c\"; filename=\"C:\\\\x.png\"\r\n"
	    "\r\n"
	    "\r\n"
	    "------WebKitFormBoundary7MA4YWxkTrZu0gW--\r\n";
	struct multipart m;

	ck_assert_int_eq(parse(&m, body, "----WebKitFormBoundary7MA4YWxkTrZu0gW"), MULTIPART_OK);
	ck_assert_uint_eq(m.nparts, 4);
	ck_part(&m, 0, "mask", "", "application/octet-stream", "", 0);
	ck_part(&m, 1, "model", NULL, NULL, "dall-e-2", 8);
	ck_part(&m, 2, "image", "UTF-8''%e2%82%ac.png", "image/png", "\x89PNG", 4);
	/* a backslash pair ends the same way for every reader; kept as sent */
	ck_part(&m, 3, "c", "C:\\\\x.png", NULL, "", 0);
	ck_assert_int_eq(multipart_field(&m, "mask", NULL, 0, NULL), MULTIPART_NOT_TEXT);
	/* filename wins over filename*; a trailing ';' and other parameters pass */
	ck_assert_int_eq(parse(&m, "--b\r\nContent-Disposition: form-data; filename*=UTF-8''x; "
	    "name=\"f\"; filename=\"a.wav\"; size=3; x=\"y\";\r\n\r\nabc\r\n--b--", "b"),
	    MULTIPART_OK);
	ck_part(&m, 0, "f", "a.wav", NULL, "abc", 3);
}
END_TEST

/* RFC 2046's example, as form-data: preamble, a quoted boundary with a
 * space, transport padding after the delimiters, an epilogue. */
START_TEST(preamble_padding_epilogue)
{
	static const char body[] =
	    "This is the preamble.  It is to be ignored, though it\r\n"
	    "is a handy place for composition agents to include an\r\n"
	    "explanatory note to non-MIME conformant readers.\r\n"
	    "\r\n"
	    "--simple boundary\r\n"
	    CD("prompt")
	    "\r\n"
	    "This is implicitly typed plain US-ASCII text.\r\n"
	    "It does NOT end with a linebreak.\r\n"
	    "--simple boundary \t \r\n"
	    CD("model")
	    "Content-type: text/plain; charset=us-ascii\r\n"
	    "\r\n"
	    "tts-1\r\n"
	    "\r\n"
	    "--simple boundary-- \r\n"
	    "\r\n"
	    "This is the epilogue.  It is also to be ignored.\r\n";
	static const char prompt[] = "This is implicitly typed plain US-ASCII text.\r\n"
	    "It does NOT end with a linebreak.";
	char ct[] = "multipart/form-data; boundary=\"simple boundary\"";
	char boundary[MULTIPART_BOUNDARY_MAX + 1];
	struct multipart m;

	ck_assert_int_eq(multipart_boundary(ct, boundary, sizeof(boundary)), 0);
	ck_assert_int_eq(parse(&m, body, boundary), MULTIPART_OK);
	ck_assert_uint_eq(m.nparts, 2);
	ck_part(&m, 0, "prompt", NULL, NULL, prompt, sizeof(prompt) - 1);
	ck_part(&m, 1, "model", NULL, "text/plain; charset=us-ascii", "tts-1\r\n", 7);
	/* a body that opens with CRLF, and one that ends right after "--" */
	ck_assert_int_eq(parse(&m, "\r\n--b\r\n" CD("a") "\r\nx\r\n--b--", "b"), MULTIPART_OK);
	ck_part(&m, 0, "a", NULL, NULL, "x", 1);
	/* no parts at all */
	ck_assert_int_eq(parse(&m, "--b--\r\n", "b"), MULTIPART_OK);
	ck_assert_uint_eq(m.nparts, 0);
}
END_TEST

/* Content holding NUL bytes, CRLFs, "--", and boundary prefixes. */
START_TEST(binary_content)
{
	static const char body[] =
	    "--XyZ123\r\n"
	    "Content-Disposition: form-data; name=\"file\"; filename=\"b.bin\"\r\n"
	    "\r\n"
	    "\0\0\r\n\r\n--\r\n--XyZ12\r\n--XyZ1\0--\r\n\r\n--\r\r\n\n"
	    "\r\n--XyZ123\r\n"
	    CD("model")
	    "\r\n"
	    "m\r\n"
	    "--XyZ123--";
	static const char file[] = "\0\0\r\n\r\n--\r\n--XyZ12\r\n--XyZ1\0--\r\n\r\n--\r\r\n\n";
	struct multipart m;

	ck_assert_int_eq(multipart_parse(&m, body, sizeof(body) - 1, "XyZ123"), MULTIPART_OK);
	ck_assert_uint_eq(m.nparts, 2);
	ck_part(&m, 0, "file", "b.bin", NULL, file, sizeof(file) - 1);
	ck_part(&m, 1, "model", NULL, NULL, "m", 1);
}
END_TEST

/* ------------------------------------------------------------- refusals */

START_TEST(structure_refused)
{
	static const struct {
		const char *body;
		enum multipart_err want;
	} t[] = {
		/* the boundary never appears */
		{ "hello", MULTIPART_NO_BOUNDARY },
		{ "", MULTIPART_NO_BOUNDARY },
		{ "--c\r\n" CD("a") "\r\nx\r\n--c--", MULTIPART_NO_BOUNDARY },
		/* missing or cut final boundary */
		{ "--b\r\n" CD("a") "\r\nx", MULTIPART_NO_CLOSE },
		{ "--b\r\n" CD("a") "\r\nx\r\n", MULTIPART_NO_CLOSE },
		{ "--b\r\n" CD("a") "\r\nx\r\n--b", MULTIPART_NO_CLOSE },
		{ "--b\r\n" CD("a") "\r\nx\r\n--b-", MULTIPART_NO_CLOSE },
		{ "--b\r\n" CD("a") "\r\nx\r\n--b\r", MULTIPART_NO_CLOSE },
		{ "--b", MULTIPART_NO_CLOSE },
		/* the boundary string where no delimiter can be */
		{ "x--b\r\n" CD("a") "\r\nx\r\n--b--", MULTIPART_BAD_DELIMITER },
		{ "x\n--b\r\n" CD("a") "\r\nx\r\n--b--", MULTIPART_BAD_DELIMITER },
		{ "--b\r\n" CD("a") "\r\nx--b\r\n--b--", MULTIPART_BAD_DELIMITER },
		{ "--b\r\n" CD("a") "\r\nx\n--b\r\n--b--", MULTIPART_BAD_DELIMITER },
		{ "--b\r\n" CD("a") "\r\nx\r\n--bb\r\n--b--", MULTIPART_BAD_DELIMITER },
		{ "--b\r\n" CD("a") "\r\nx\r\n--b-x\r\n--b--", MULTIPART_BAD_DELIMITER },
		{ "--b\r\n" CD("a") "\r\nx\r\n--b\n" CD("c") "\r\ny\r\n--b--",
		  MULTIPART_BAD_DELIMITER },
		{ "--b\r\n" CD("a") "\r\nx\r\n--b--x", MULTIPART_BAD_DELIMITER },
		{ "--b\r\n" CD("a") "\r\nx\r\n--b--\r", MULTIPART_BAD_DELIMITER },
		{ "--bx\r\n" CD("a") "\r\nx\r\n--b--", MULTIPART_BAD_DELIMITER },
		{ "--b\r\n" CD("a") "\r\nx\r\n--b--\r\nepilogue\r\n--b--\r\n",
		  MULTIPART_BAD_DELIMITER },
		{ "--b\r\n" CD("a") "\r\nx\r\n--b--\r\n--b\r\n", MULTIPART_BAD_DELIMITER },
		/* part headers cut or never closed by their own blank line */
		{ "--b\r\nContent-Disposition: form-da", MULTIPART_HEADER_TRUNCATED },
		{ "--b\r\n" CD("a"), MULTIPART_HEADER_TRUNCATED },
		{ "--b\r\n" CD("a") "\r", MULTIPART_HEADER_TRUNCATED },
		{ "--b\r\n" CD("a") "\r\n--b--", MULTIPART_HEADER_TRUNCATED },
		{ "--b\r\n--b--", MULTIPART_HEADER_TRUNCATED },
		{ "--b\r\n\r\nx\r\n--b--", MULTIPART_BAD_DISPOSITION },
		/* header lines */
		{ "--b\r\nContent-Disposition: form-data;\n name=\"a\"\r\n\r\nx\r\n--b--",
		  MULTIPART_BAD_HEADER },
		{ "--b\r\n" CD("a") "X: 1\n\r\nx\r\n--b--", MULTIPART_BAD_HEADER },
		{ "--b\r\n" CD("a") "X: 1\r\r\n\r\nx\r\n--b--", MULTIPART_BAD_HEADER },
		{ "--b\r\n" CD("a") "X: 1\r\n\tcontinued\r\n\r\nx\r\n--b--", MULTIPART_BAD_HEADER },
		{ "--b\r\n" CD("a") "X : 1\r\n\r\nx\r\n--b--", MULTIPART_BAD_HEADER },
		{ "--b\r\n" CD("a") "X 1\r\n\r\nx\r\n--b--", MULTIPART_BAD_HEADER },
		{ "--b\r\n" CD("a") ": 1\r\n\r\nx\r\n--b--", MULTIPART_BAD_HEADER },
		{ "--b\r\n" CD("a") "X: \x1b\r\n\r\nx\r\n--b--", MULTIPART_BAD_HEADER },
		{ "--b\r\n" CD("a") CD("model") "\r\nx\r\n--b--", MULTIPART_DUP_HEADER },
		{ "--b\r\n" CD("a") "Content-Type: a/b\r\ncontent-type: a/b\r\n\r\nx\r\n--b--",
		  MULTIPART_DUP_HEADER },
		{ "--b\r\n" CD("a") "Content-Transfer-Encoding: base64\r\n\r\neA==\r\n--b--",
		  MULTIPART_BAD_ENCODING },
		{ "--b\r\n" CD("a") "Content-Transfer-Encoding: quoted-printable\r\n\r\nx\r\n--b--",
		  MULTIPART_BAD_ENCODING },
		/* even when it agrees with the delimiter: a replaced value would not */
		{ "--b\r\n" CD("a") "Content-Length: 1\r\n\r\nx\r\n--b--", MULTIPART_BAD_ENCODING },
		{ "--b\r\n" CD("a") "content-length: 2\r\n\r\nx\r\n--b--", MULTIPART_BAD_ENCODING },
		/* Content-Disposition */
		{ "--b\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--b--",
		  MULTIPART_BAD_DISPOSITION },
		{ "--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--",
		  MULTIPART_BAD_DISPOSITION },
		{ "--b\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nx\r\n--b--",
		  MULTIPART_BAD_DISPOSITION },
		{ "--b\r\nContent-Disposition: form-datax; name=\"a\"\r\n\r\nx\r\n--b--",
		  MULTIPART_BAD_DISPOSITION },
		{ "--b\r\nContent-Disposition: form-data; name=\"a\"; name=\"b\"\r\n\r\nx\r\n--b--",
		  MULTIPART_BAD_DISPOSITION },
		{ "--b\r\nContent-Disposition: form-data; name*=UTF-8''a\r\n\r\nx\r\n--b--",
		  MULTIPART_BAD_DISPOSITION },
		{ "--b\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--b--",
		  MULTIPART_BAD_DISPOSITION },
		{ "--b\r\nContent-Disposition: form-data; name=\"a\" x\r\n\r\nx\r\n--b--",
		  MULTIPART_BAD_DISPOSITION },
		{ "--b\r\nContent-Disposition: form-data; name=\r\n\r\nx\r\n--b--",
		  MULTIPART_BAD_DISPOSITION },
		{ "--b\r\nContent-Disposition: form-data; name = \"a\"\r\n\r\nx\r\n--b--",
		  MULTIPART_BAD_DISPOSITION },
		{ "--b\r\nContent-Disposition: form-data; name=\"mod\\el\"\r\n\r\nx\r\n--b--",
		  MULTIPART_BAD_DISPOSITION },
		/* where a quoted string ends depends on the reader: refused */
		{ "--b\r\nContent-Disposition: form-data; filename=\"a\\\"; name=\"model\"\r\n"
		  "\r\nx\r\n--b--", MULTIPART_BAD_DISPOSITION },
		{ "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"; "
		  "filename=\"b\"\r\n\r\nx\r\n--b--", MULTIPART_BAD_DISPOSITION },
		{ "--b\r\nContent-Disposition: form-data; name=\"f\"; filename*=a; "
		  "filename*=b\r\n\r\nx\r\n--b--", MULTIPART_BAD_DISPOSITION },
		{ "--b\r\n" CD("a") "Content-Transfer-Encoding: binary\r\n"
		  "Content-Transfer-Encoding: 8bit\r\n\r\nx\r\n--b--", MULTIPART_DUP_HEADER },
	};
	static const char nul[] = "--b\r\nX: \0\r\n" CD("a") "\r\nx\r\n--b--";
	struct multipart m;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		enum multipart_err rc = parse(&m, t[i].body, "b");

		ck_assert_msg(rc == t[i].want, "case %zu: got %d (%s), want %d", i, rc,
		    multipart_strerror(rc), t[i].want);
		ck_assert_uint_eq(m.nparts, 0);
	}
	/* a NUL byte in a header line */
	ck_assert_int_eq(multipart_parse(&m, nul, sizeof(nul) - 1, "b"), MULTIPART_BAD_HEADER);
	ck_assert_uint_eq(m.err_off, 8);
	/* the boundary argument itself */
	ck_assert_int_eq(parse(&m, "--\r\n", ""), MULTIPART_BAD_BOUNDARY);
	ck_assert_int_eq(parse(&m, "--a \r\n", "a "), MULTIPART_BAD_BOUNDARY);
	ck_assert_int_eq(parse(&m, "--a\r\n", "a\r"), MULTIPART_BAD_BOUNDARY);
	ck_assert_int_eq(parse(&m, "--a\r\n",
	    "0123456789012345678901234567890123456789012345678901234567890123456789X"),
	    MULTIPART_BAD_BOUNDARY);
}
END_TEST

/* One part whose header lines take exactly n bytes, CRLFs included. */
static char *
part_with_headers(size_t n, size_t *len)
{
	static const char cd[] = CD("a");
	struct buf b;
	size_t pad;

	ck_assert_uint_ge(n, sizeof(cd) - 1 + 5);
	pad = n - (sizeof(cd) - 1) - 5;	/* "X: " and CRLF */
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(buf_puts(&b, "--b\r\n" CD("a") "X: "), 0);
	while (pad-- > 0)
		ck_assert_int_eq(buf_append(&b, "p", 1), 0);
	ck_assert_int_eq(buf_puts(&b, "\r\n\r\nx\r\n--b--\r\n"), 0);
	return buf_steal(&b, len);
}

START_TEST(limits)
{
	struct multipart m;
	struct buf b;
	char *body;
	size_t len, i;

	/* header block: 8 KiB, not a byte more */
	body = part_with_headers(MULTIPART_HEADER_MAX, &len);
	ck_assert_int_eq(multipart_parse(&m, body, len, "b"), MULTIPART_OK);
	ck_part(&m, 0, "a", NULL, NULL, "x", 1);
	free(body);
	body = part_with_headers(MULTIPART_HEADER_MAX + 1, &len);
	ck_assert_int_eq(multipart_parse(&m, body, len, "b"), MULTIPART_HEADER_TOO_LARGE);
	free(body);
	/* one endless header line */
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(buf_puts(&b, "--b\r\n" CD("a") "X: "), 0);
	for (i = 0; i < 100000; i++)
		ck_assert_int_eq(buf_append(&b, "p", 1), 0);
	ck_assert_int_eq(buf_puts(&b, "\r\n\r\nx\r\n--b--\r\n"), 0);
	ck_assert_int_eq(multipart_parse(&m, b.data, b.len, "b"), MULTIPART_HEADER_TOO_LARGE);
	ck_assert_uint_eq(m.err_off, 5 + MULTIPART_HEADER_MAX);
	buf_free(&b);

	/* 64 parts, not 65 */
	buf_init(&b, 1 << 20);
	for (i = 0; i < MULTIPART_PARTS_MAX; i++)
		ck_assert_int_eq(buf_printf(&b, "--b\r\n" CD("f%zu") "\r\n%zu\r\n", i, i), 0);
	ck_assert_int_eq(buf_puts(&b, "--b--\r\n"), 0);
	ck_assert_int_eq(multipart_parse(&m, b.data, b.len, "b"), MULTIPART_OK);
	ck_assert_uint_eq(m.nparts, MULTIPART_PARTS_MAX);
	ck_field(&m, "f63", "63");
	buf_reset(&b);
	for (i = 0; i <= MULTIPART_PARTS_MAX; i++)
		ck_assert_int_eq(buf_printf(&b, "--b\r\n" CD("f%zu") "\r\n%zu\r\n", i, i), 0);
	ck_assert_int_eq(buf_puts(&b, "--b--\r\n"), 0);
	ck_assert_int_eq(multipart_parse(&m, b.data, b.len, "b"), MULTIPART_TOO_MANY_PARTS);
	buf_free(&b);

	/* field names: 256 bytes, not 257 */
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(buf_printf(&b, "--b\r\nContent-Disposition: form-data; name=\"%0256d\""
	    "\r\n\r\nx\r\n--b--", 0), 0);
	ck_assert_int_eq(multipart_parse(&m, b.data, b.len, "b"), MULTIPART_OK);
	ck_assert_uint_eq(m.parts[0].name_len, MULTIPART_NAME_MAX);
	buf_reset(&b);
	ck_assert_int_eq(buf_printf(&b, "--b\r\nContent-Disposition: form-data; name=\"%0257d\""
	    "\r\n\r\nx\r\n--b--", 0), 0);
	ck_assert_int_eq(multipart_parse(&m, b.data, b.len, "b"), MULTIPART_NAME_TOO_LONG);
	buf_free(&b);
}
END_TEST

/* ------------------------------------------------------------------ fields */

START_TEST(field_lookup)
{
	static const char body[] =
	    "--b\r\n" CD("model") "\r\ngpt-4o-transcribe\r\n"
	    "--b\r\n" CD("prompt") "\r\n\r\n"
	    "--b\r\n" CD("nul") "\r\na\0b\r\n"
	    "--b\r\n" CD("Model") "\r\nother\r\n"
	    "--b--\r\n";
	static const char dup[] =
	    "--b\r\n" CD("model") "\r\nwhisper-1\r\n"
	    "--b\r\n" CD("model") "\r\nwhisper-1\r\n"
	    "--b--\r\n";
	static const char dup_file[] =
	    "--b\r\nContent-Disposition: form-data; name=\"model\"; filename=\"m\"\r\n\r\nx\r\n"
	    "--b\r\n" CD("model") "\r\nwhisper-1\r\n"
	    "--b--\r\n";
	struct multipart m;
	char out[32];
	size_t n;

	ck_assert_int_eq(multipart_parse(&m, body, sizeof(body) - 1, "b"), MULTIPART_OK);
	ck_field(&m, "model", "gpt-4o-transcribe");
	ck_field(&m, "Model", "other");
	ck_field(&m, "prompt", "");
	/* the value and its NUL need 18 bytes */
	ck_assert_int_eq(multipart_field(&m, "model", out, 18, &n), MULTIPART_OK);
	ck_assert_int_eq(multipart_field(&m, "model", out, 17, &n), MULTIPART_TOO_LONG);
	ck_assert_str_eq(out, "");
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(multipart_field(&m, "model", out, 0, NULL), MULTIPART_TOO_LONG);
	ck_assert_int_eq(multipart_field(&m, "nul", out, sizeof(out), NULL), MULTIPART_BAD_VALUE);
	ck_assert_int_eq(multipart_field(&m, "MODEL", out, sizeof(out), NULL),
	    MULTIPART_NOT_FOUND);
	ck_assert_int_eq(multipart_field(&m, "", out, sizeof(out), NULL), MULTIPART_NOT_FOUND);

	/* the same name twice: ambiguous, whatever the values */
	ck_assert_int_eq(parse(&m, dup, "b"), MULTIPART_OK);
	ck_assert_int_eq(multipart_field(&m, "model", out, sizeof(out), NULL),
	    MULTIPART_DUP_FIELD);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(parse(&m, dup_file, "b"), MULTIPART_OK);
	ck_assert_int_eq(multipart_field(&m, "model", out, sizeof(out), NULL),
	    MULTIPART_DUP_FIELD);

	/* every error has a message */
	for (n = 0; n < MULTIPART__MAX; n++)
		ck_assert(multipart_strerror((enum multipart_err)n)[0] != '\0');
	ck_assert_str_eq(multipart_strerror(MULTIPART__MAX), "unknown multipart error");
}
END_TEST

/* Replace model in body and check: the bytes before and after the value are
 * those of the original, the new body parses to the same parts with the
 * new value. */
static void
ck_replace(const char *body, size_t len, const char *boundary, const char *value)
{
	struct multipart m, r;
	const struct multipart_part *old = NULL;
	size_t i, head, tail, vlen = strlen(value), nlen;
	char *nb;

	ck_assert_int_eq(multipart_parse(&m, body, len, boundary), MULTIPART_OK);
	for (i = 0; i < m.nparts; i++)
		if (m.parts[i].name_len == 5 && memcmp(m.parts[i].name, "model", 5) == 0 &&
		    m.parts[i].filename == NULL)
			old = &m.parts[i];
	ck_assert_ptr_nonnull(old);
	ck_assert_int_eq(multipart_replace_field(&m, "model", value, vlen, &nb, &nlen),
	    MULTIPART_OK);
	head = (size_t)(old->data - body);
	tail = len - head - old->data_len;
	ck_assert_uint_eq(nlen, len - old->data_len + vlen);
	ck_assert(memcmp(nb, body, head) == 0);
	ck_assert(memcmp(nb + head, value, vlen) == 0);
	ck_assert(memcmp(nb + head + vlen, body + head + old->data_len, tail) == 0);
	ck_assert_int_eq(nb[nlen], '\0');

	ck_assert_int_eq(multipart_parse(&r, nb, nlen, boundary), MULTIPART_OK);
	ck_assert_uint_eq(r.nparts, m.nparts);
	for (i = 0; i < m.nparts; i++) {
		const struct multipart_part *p = &m.parts[i], *q = &r.parts[i];

		ck_assert_uint_eq(q->name_len, p->name_len);
		ck_assert(memcmp(q->name, p->name, p->name_len) == 0);
		ck_assert((q->filename == NULL) == (p->filename == NULL));
		if (p == old)
			continue;
		ck_assert_uint_eq(q->data_len, p->data_len);
		ck_assert(memcmp(q->data, p->data, p->data_len) == 0);
	}
	ck_field(&r, "model", value);
	free(nb);
}

START_TEST(replace_field)
{
	static const char *const captures[] = { "curl", "requests", "openai-node-transcription",
		"openai-node-images-edit" };
	static const char *const values[] = { "openai/whisper-large-v3-turbo-provider-id", "w",
		"" };
	static const char small[] = "--b\r\n" CD("model") "\r\nwhisper-1\r\n--b--\r\n";
	char boundary[MULTIPART_BOUNDARY_MAX + 1], *body, *nb = (char *)1;
	struct multipart m;
	size_t len, i, j, nlen = 1;

	for (i = 0; i < sizeof(captures) / sizeof(captures[0]); i++) {
		load(captures[i], &body, &len, boundary);
		for (j = 0; j < sizeof(values) / sizeof(values[0]); j++)
			ck_replace(body, len, boundary, values[j]);
		free(body);
	}
	ck_replace(small, sizeof(small) - 1, "b", "longer-than-before");
	ck_replace(small, sizeof(small) - 1, "b", "x\r\n--not-the-boundary");

	ck_assert_int_eq(parse(&m, small, "b"), MULTIPART_OK);
	/* the new value may not hold a delimiter or a NUL */
	ck_assert_int_eq(multipart_replace_field(&m, "model", "a\r\n--b--", 8, &nb, &nlen),
	    MULTIPART_BAD_VALUE);
	ck_assert_ptr_null(nb);
	ck_assert_uint_eq(nlen, 0);
	ck_assert_int_eq(multipart_replace_field(&m, "model", "--b", 3, &nb, &nlen),
	    MULTIPART_BAD_VALUE);
	ck_assert_int_eq(multipart_replace_field(&m, "model", "a\0", 2, &nb, &nlen),
	    MULTIPART_BAD_VALUE);
	ck_assert_int_eq(multipart_replace_field(&m, "stream", "x", 1, &nb, &nlen),
	    MULTIPART_NOT_FOUND);
	ck_assert_int_eq(multipart_replace_field(&m, "model", NULL, 0, &nb, &nlen), MULTIPART_OK);
	ck_assert_uint_eq(nlen, sizeof(small) - 1 - 9);
	free(nb);
	ck_assert_int_eq(parse(&m, "--b\r\n" CD("model") "\r\nx\r\n--b\r\n" CD("model")
	    "\r\ny\r\n--b--", "b"), MULTIPART_OK);
	ck_assert_int_eq(multipart_replace_field(&m, "model", "z", 1, &nb, &nlen),
	    MULTIPART_DUP_FIELD);
	ck_assert_int_eq(parse(&m, "--b\r\nContent-Disposition: form-data; name=\"model\"; "
	    "filename=\"x\"\r\n\r\nx\r\n--b--", "b"), MULTIPART_OK);
	ck_assert_int_eq(multipart_replace_field(&m, "model", "z", 1, &nb, &nlen),
	    MULTIPART_NOT_TEXT);
}
END_TEST

Suite *
suite(void)
{
	Suite *s = suite_create("multipart");
	TCase *tc = tcase_create("parse");
	TCase *tf = tcase_create("fields");

	tcase_add_test(tc, boundary_from_content_type);
	tcase_add_test(tc, curl_form);
	tcase_add_test(tc, python_requests);
	tcase_add_test(tc, openai_node_sdk);
	tcase_add_test(tc, formdata_node_epilogue);
	tcase_add_test(tc, browser_and_variants);
	tcase_add_test(tc, preamble_padding_epilogue);
	tcase_add_test(tc, binary_content);
	tcase_add_test(tc, structure_refused);
	tcase_add_test(tc, limits);
	suite_add_tcase(s, tc);
	tcase_add_test(tf, field_lookup);
	tcase_add_test(tf, replace_field);
	suite_add_tcase(s, tf);
	return s;
}
