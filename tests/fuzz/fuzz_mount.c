/* Fuzz harness for lib/mount. An input is up to four lines: REQUEST_URI's
 * path, SCRIPT_NAME, PATH_INFO and ROOT_PATH ("-" or a missing line: the
 * param is absent; a ROOT_PATH the settings would refuse counts as "").
 * Every answer must keep mount_resolve's promises: a mount that is "" or a
 * clean path in safe URL form, a path below it that, after the mount, gives
 * back the decoded URL; ROOT_PATH obeyed; MOUNT_OUTSIDE only with ROOT_PATH
 * and MOUNT_BAD_PATH only for a REQUEST_URI that does not decode. A
 * violation aborts, so libFuzzer reports it like a crash. Built with
 * libFuzzer when clang is there, otherwise linked with driver.c. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mount.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FAIL(...) do { fprintf(stderr, "fuzz_mount: " __VA_ARGS__); \
	fputc('\n', stderr); abort(); } while (0)

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Strict %-decoding of s[0..n) into a new string; NULL on a bad escape or
 * an encoded NUL (what a web server's REQUEST_URI must satisfy). */
static char *
decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1), *o = out;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0 ||
		    (s[i + 1] == '0' && s[i + 2] == '0')) {
			free(out);
			return NULL;
		}
		*o++ = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
		i += 2;
	}
	*o = '\0';
	return out;
}

/* The mount in URL form: "" or '/'-led, only the characters prefix_encode
 * keeps, escapes as %XX in upper case, and a clean path once decoded.
 * Returns the decoded mount (caller frees). */
static char *
check_prefix(const char *p)
{
	char *d;
	size_t i;

	for (i = 0; p[i]; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '%') {
			if (hexval(p[i + 1]) < 0 || hexval(p[i + 2]) < 0 ||
			    (p[i + 1] >= 'a' && p[i + 1] <= 'f') || (p[i + 2] >= 'a' && p[i + 2] <= 'f'))
				FUZZ_FAIL("bad escape in mount '%s'", p);
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~/!$()*+=:@", c)))
			FUZZ_FAIL("byte 0x%02x unencoded in mount '%s'", c, p);
	}
	d = decode(p, strlen(p));
	if (d == NULL)
		FUZZ_FAIL("mount '%s' does not decode", p);
	if (*d && !mount_path_ok(d, strlen(d)))
		FUZZ_FAIL("mount '%s' is not a clean path", p);
	return d;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = xmalloc(size + 1), *field[4] = { NULL, NULL, NULL, NULL };
	char *prefix = NULL, *path = NULL, *dprefix = NULL, *full = NULL, *joined = NULL;
	struct mount_cgi c = { 0 };
	enum mount_status st;
	size_t i, nf = 0;
	char *p;

	memcpy(copy, data, size);
	copy[size] = '\0';
	if (strlen(copy) != size)	/* a NUL: params are C strings */
		goto out;
	for (p = copy; nf < 4; nf++) {
		char *nl = strchr(p, '\n');

		field[nf] = p;
		if (nl == NULL) {
			nf++;
			break;
		}
		*nl = '\0';
		p = nl + 1;
	}
	for (i = 0; i < 4; i++)
		if (field[i] && strcmp(field[i], "-") == 0)
			field[i] = NULL;
	if (field[0] && *field[0]) {
		c.uri = field[0];
		c.uri_len = strcspn(field[0], "?");
	}
	c.script_name = field[1];
	c.path_info = field[2];
	c.root_path = field[3] && mount_setting_ok(field[3]) ? field[3] : "";

	st = mount_resolve(&c, &prefix, &path);
	if (prefix == NULL || path == NULL || *path == '\0')
		FUZZ_FAIL("status %d without a mount or a path", (int)st);
	if (c.uri)
		full = decode(c.uri, c.uri_len);
	switch (st) {
	case MOUNT_BAD_PATH:
		if (c.uri == NULL || full != NULL)
			FUZZ_FAIL("bad path for a URI that decodes");
		goto out;
	case MOUNT_OUTSIDE:
		if (*c.root_path == '\0' || strcmp(c.root_path, "/") == 0 || *prefix)
			FUZZ_FAIL("outside without a ROOT_PATH mount");
		goto out;
	case MOUNT_OK:
		break;
	default:
		FUZZ_FAIL("status %d", (int)st);
	}
	if (c.uri && full == NULL)
		FUZZ_FAIL("a URI that does not decode was routed");
	dprefix = check_prefix(prefix);
	if (*prefix && path[0] != '/')
		FUZZ_FAIL("path '%s' below mount '%s' does not start with '/'", path, prefix);
	if (*c.root_path)
		if (strcmp(dprefix, strcmp(c.root_path, "/") == 0 ? "" : c.root_path) != 0)
			FUZZ_FAIL("mount '%s' is not ROOT_PATH '%s'", dprefix, c.root_path);
	if (full == NULL)
		full = xasprintf("%s%s", c.script_name ? c.script_name : "",
		    c.path_info ? c.path_info : "");
	/* The mount and the path give back the URL ("/" standing for nothing). */
	joined = xasprintf("%s%s", dprefix, path);
	if (strcmp(joined, full) != 0 && !(strcmp(path, "/") == 0 && strcmp(dprefix, full) == 0))
		FUZZ_FAIL("mount '%s' + path '%s' is not '%s'", dprefix, path, full);
out:
	free(joined);
	free(full);
	free(dprefix);
	free(prefix);
	free(path);
	free(copy);
	return 0;
}
