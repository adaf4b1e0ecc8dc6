/* mount: see mount.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mount.h"
#include "util.h"

/* The URL form of a decoded mount: unreserved characters, '/' and a few
 * sub-delimiters as they are, every other byte %XX. Not kept: ';' and ','
 * (they end a cookie attribute), '&', quotes and space (HTML, headers). */
static char *
prefix_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = xmalloc(strlen(s) * 3 + 1), *o = out;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~/!$()*+=:@", c) != NULL) {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

bool
mount_path_ok(const char *s, size_t n)
{
	size_t i, seg = 0;

	if (n < 2 || n > MOUNT_PATH_MAX || s[0] != '/' || s[n - 1] == '/')
		return false;
	for (i = 1; i <= n; i++) {
		unsigned char c = i < n ? (unsigned char)s[i] : '/';

		if (c < 0x20 || c == 0x7f)
			return false;
		if (c != '/')
			continue;
		/* s[seg] is the '/' before the segment that ends here. */
		if (i - seg == 1 || (i - seg == 2 && s[seg + 1] == '.') ||
		    (i - seg == 3 && s[seg + 1] == '.' && s[seg + 2] == '.'))
			return false;
		seg = i;
	}
	return true;
}

bool
mount_setting_ok(const char *s)
{
	return *s == '\0' || strcmp(s, "/") == 0 || mount_path_ok(s, strlen(s));
}

/* Where PATH_INFO begins in the raw path u[0..n): the offset of the literal
 * '/' from which u, decoded, reads pi to its end; -1 if it does not. Matched
 * from the end, so the work is linear. An encoded slash in u may stand for
 * "/" or for "%2F" in pi (Apache keeps it encoded under AllowEncodedSlashes
 * NoDecode, lighttpd decodes it). u is known to decode: every '%' starts a
 * triplet, so a '%' two bytes back always begins one. */
static long
pathinfo_start(const char *u, size_t n, const char *pi)
{
	size_t i = n, k = strlen(pi);

	while (k > 0) {
		int c;
		size_t step = 1;

		if (i == 0)
			return -1;
		if (i >= 3 && u[i - 3] == '%') {
			c = hex_digit((unsigned char)u[i - 2]) << 4 | hex_digit((unsigned char)u[i - 1]);
			step = 3;
			if (c == '/' && k >= 3 && strncasecmp(pi + k - 3, "%2F", 3) == 0) {
				k -= 3;
				i -= 3;
				continue;
			}
		} else {
			c = (unsigned char)u[i - 1];
		}
		if ((unsigned char)pi[k - 1] != c)
			return -1;
		k--;
		i -= step;
	}
	/* PATH_INFO starts a segment: a literal '/', not an encoded one. */
	return u[i] == '/' ? (long)i : -1;
}

/* True when path is pre followed by "/" (pre a clean mount). */
static bool
under(const char *path, const char *pre)
{
	size_t n = strlen(pre);

	return mount_path_ok(pre, n) && strncmp(path, pre, n) == 0 && path[n] == '/';
}

enum mount_status
mount_resolve(const struct mount_cgi *cgi, char **prefix, char **path)
{
	const char *sn = cgi->script_name ? cgi->script_name : "";
	const char *pi = cgi->path_info ? cgi->path_info : "";
	char *full, *mount = NULL;
	size_t cut = 0;

	if (cgi->uri) {
		full = pct_decode(cgi->uri, cgi->uri_len, false);
		if (full == NULL) {
			*prefix = xstrdup("");
			*path = xstrdup("/");
			return MOUNT_BAD_PATH;
		}
	} else {
		/* Decoded by the server already: decoding again would turn a
		 * client's "%2541" into "A". */
		full = xasprintf("%s%s", sn, pi);
	}

	if (*cgi->root_path) {
		const char *rp = strcmp(cgi->root_path, "/") == 0 ? "" : cgi->root_path;
		size_t n = strlen(rp);

		/* "/": everything is below the whole site, "*" included. */
		if (n > 0 && (strncmp(full, rp, n) != 0 || (full[n] != '\0' && full[n] != '/'))) {
			*prefix = xstrdup("");
			*path = xstrdup(*full ? full : "/");
			free(full);
			return MOUNT_OUTSIDE;
		}
		cut = n;
	} else {
		long at = -1;

		if (cgi->uri && pi[0] == '/')
			at = pathinfo_start(cgi->uri, cgi->uri_len, pi);
		if (at >= 0) {
			/* The raw mount decodes to the start of full: the cut is
			 * at a literal '/', so no escape straddles it. */
			mount = pct_decode(cgi->uri, (size_t)at, false);
			if (mount && (*mount == '\0' || mount_path_ok(mount, strlen(mount))))
				cut = strlen(mount);
			else
				at = -1;
		}
		if (at < 0 && under(full, sn))
			cut = strlen(sn);
	}

	*prefix = xstrndup(full, cut);
	if (**prefix) {
		char *enc = prefix_encode(*prefix);

		free(*prefix);
		*prefix = enc;
	}
	*path = xstrdup(full[cut] ? full + cut : "/");
	free(mount);
	free(full);
	return MOUNT_OK;
}

char *
mount_url(const char *prefix, const char *path)
{
	return xasprintf("%s%s%s", prefix, path[0] == '/' ? "" : "/", path);
}
