/* Check suite for lib/mount: the mount and the path below it from what each
 * web server passes (the params below are the ones observed from lighttpd,
 * Apache mod_fcgid and mod_proxy_fcgi on Debian 12), the ROOT_PATH setting,
 * hostile and malformed paths, and the URLs built under a mount. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mount.h"
#include "testlib.h"

/* Resolve one request; uri may carry a query, cut here as fcgi/http.c does. */
static enum mount_status
resolve(const char *uri, const char *sn, const char *pi, const char *root, char **prefix,
    char **path)
{
	struct mount_cgi c = { 0 };

	if (uri) {
		c.uri = uri;
		c.uri_len = strcspn(uri, "?");
	}
	c.script_name = sn;
	c.path_info = pi;
	c.root_path = root ? root : "";
	return mount_resolve(&c, prefix, path);
}

#define CHECK_MOUNT(uri, sn, pi, root, want_status, want_prefix, want_path) do { \
	char *p_, *q_; \
	ck_assert_int_eq(resolve(uri, sn, pi, root, &p_, &q_), want_status); \
	ck_assert_str_eq(p_, want_prefix); \
	ck_assert_str_eq(q_, want_path); \
	free(p_); \
	free(q_); \
} while (0)

START_TEST(whole_site)
{
	/* lighttpd "/" with fix-root-scriptname, mod_fcgid ScriptAlias / bin/,
	 * mod_proxy_fcgi with proxy-fcgi-pathinfo. */
	CHECK_MOUNT("/v1/info", "", "/v1/info", NULL, MOUNT_OK, "", "/v1/info");
	CHECK_MOUNT("/", "", "/", NULL, MOUNT_OK, "", "/");
	/* mod_proxy_fcgi's default and lighttpd's "" key: SCRIPT_NAME is the
	 * whole path and there is no PATH_INFO. */
	CHECK_MOUNT("/v1/info?x=1", "/v1/info", NULL, NULL, MOUNT_OK, "", "/v1/info");
	CHECK_MOUNT("/", "/", NULL, NULL, MOUNT_OK, "", "/");
	/* An encoded slash stays a slash in the routed path. */
	CHECK_MOUNT("/v1/models/openai%2Fgpt-4o", "", "/v1/models/openai%2Fgpt-4o", NULL, MOUNT_OK,
	    "", "/v1/models/openai/gpt-4o");
	/* No path at all. */
	CHECK_MOUNT("?x", NULL, NULL, NULL, MOUNT_OK, "", "/");
}
END_TEST

START_TEST(sub_path)
{
	/* lighttpd fastcgi.server "/~alice/routstr": decoded PATH_INFO. */
	CHECK_MOUNT("/~alice/routstr/v1/info?x=1", "/~alice/routstr", "/v1/info", NULL, MOUNT_OK,
	    "/~alice/routstr", "/v1/info");
	CHECK_MOUNT("/%7Ealice/routstr/v1/models/openai%2Fgpt", "/~alice/routstr",
	    "/v1/models/openai/gpt", NULL, MOUNT_OK, "/~alice/routstr", "/v1/models/openai/gpt");
	/* mod_fcgid under AllowEncodedSlashes NoDecode: "%2F" passed on. */
	CHECK_MOUNT("/%7Ealice/routstr/v1/models/openai%2Fgpt", "/~alice/routstr",
	    "/v1/models/openai%2Fgpt", NULL, MOUNT_OK, "/~alice/routstr", "/v1/models/openai/gpt");
	CHECK_MOUNT("/~alice/routstr/v1/models/a%252Fb", "/~alice/routstr", "/v1/models/a%2Fb", NULL,
	    MOUNT_OK, "/~alice/routstr", "/v1/models/a%2Fb");
	/* The mount's root. */
	CHECK_MOUNT("/~alice/routstr/", "/~alice/routstr", "/", NULL, MOUNT_OK, "/~alice/routstr",
	    "/");
	/* An .htaccess RewriteRule to routstr.fcgi/$1 under an Alias: SCRIPT_NAME
	 * is nowhere in the URL; PATH_INFO still ends REQUEST_URI. */
	CHECK_MOUNT("/~alice/routstr/v1/info", "/alice/routstr/routstr.fcgi", "/v1/info", NULL,
	    MOUNT_OK, "/~alice/routstr", "/v1/info");
	/* ProxyFCGISetEnvIf SCRIPT_NAME "/~alice/routstr": no PATH_INFO. */
	CHECK_MOUNT("/~alice/routstr/v1/info", "/~alice/routstr", NULL, NULL, MOUNT_OK,
	    "/~alice/routstr", "/v1/info");
	/* A server that passes no REQUEST_URI: SCRIPT_NAME + PATH_INFO, not
	 * decoded a second time. */
	CHECK_MOUNT(NULL, "/app", "/v1/x%41", NULL, MOUNT_OK, "/app", "/v1/x%41");
	CHECK_MOUNT(NULL, "", "/v1/info", NULL, MOUNT_OK, "", "/v1/info");
	/* Several segments, and a path that repeats the mount. */
	CHECK_MOUNT("/a/b/c/a/b/c", "/a/b/c", "/a/b/c", NULL, MOUNT_OK, "/a/b/c", "/a/b/c");
}
END_TEST

START_TEST(ambiguous_and_odd)
{
	/* mod_proxy_fcgi's default under a sub-path: nothing tells the mount,
	 * so the whole path is routed (a 404; README: set proxy-fcgi-pathinfo
	 * or ROOT_PATH). */
	CHECK_MOUNT("/~alice/routstr/v1/info", "/~alice/routstr/v1/info", NULL, NULL, MOUNT_OK, "",
	    "/~alice/routstr/v1/info");
	/* The mount without its slash, from lighttpd or mod_fcgid: the same
	 * shape, so the same answer (the example configs redirect it first). */
	CHECK_MOUNT("/~alice/routstr", "/~alice/routstr", NULL, NULL, MOUNT_OK, "",
	    "/~alice/routstr");
	/* Dot segments: the servers normalise PATH_INFO, not REQUEST_URI. What
	 * is before PATH_INFO is no clean mount; SCRIPT_NAME is, and the rest
	 * is routed as sent (and not found). */
	CHECK_MOUNT("/~alice/routstr/v1/../health", "/~alice/routstr", "/health", NULL, MOUNT_OK,
	    "/~alice/routstr", "/v1/../health");
	/* Doubled slashes, merged in PATH_INFO and SCRIPT_NAME only. */
	CHECK_MOUNT("/~alice//routstr//v1/info", "/~alice/routstr", "/v1/info", NULL, MOUNT_OK, "",
	    "/~alice//routstr//v1/info");
	/* PATH_INFO that is not the end of the URL, or not a segment. */
	CHECK_MOUNT("/a/v1/info", "/a", "/v1/other", NULL, MOUNT_OK, "/a", "/v1/info");
	CHECK_MOUNT("/a/v1/info", NULL, "v1/info", NULL, MOUNT_OK, "", "/a/v1/info");
	CHECK_MOUNT("/info", NULL, "/v1/info", NULL, MOUNT_OK, "", "/info");
	/* PATH_INFO that starts at an encoded slash is not a segment. */
	CHECK_MOUNT("/a%2Fv1/info", NULL, "/v1/info", NULL, MOUNT_OK, "", "/a/v1/info");
	/* SCRIPT_NAME longer than the path, or ending in '/'. */
	CHECK_MOUNT("/a", "/a/b", NULL, NULL, MOUNT_OK, "", "/a");
	CHECK_MOUNT("/a/b", "/a/", NULL, NULL, MOUNT_OK, "", "/a/b");
}
END_TEST

START_TEST(bad_paths)
{
	CHECK_MOUNT("/v1/%zz", "", "/v1/x", NULL, MOUNT_BAD_PATH, "", "/");
	CHECK_MOUNT("/v1/a%00b", "", "/v1/a", NULL, MOUNT_BAD_PATH, "", "/");
	CHECK_MOUNT("/v1/a%4", NULL, NULL, NULL, MOUNT_BAD_PATH, "", "/");
}
END_TEST

START_TEST(hostile_mounts)
{
	char *p, *q, *long_uri;
	size_t i;

	/* Whatever comes before PATH_INFO is encoded before it is handed out:
	 * no quote, ';', ',', '&', space or '<' leaves as it is. */
	CHECK_MOUNT("/a%22b%3Bc,d&e%20f%3Cg/v1/info", NULL, "/v1/info", NULL, MOUNT_OK,
	    "/a%22b%3Bc%2Cd%26e%20f%3Cg", "/v1/info");
	CHECK_MOUNT("/%E2%82%AC/v1/info", NULL, "/v1/info", NULL, MOUNT_OK, "/%E2%82%AC", "/v1/info");
	/* A control character or a CR/LF is no mount at all. */
	CHECK_MOUNT("/a%0D%0ASet-Cookie:x/v1/info", NULL, "/v1/info", NULL, MOUNT_OK, "",
	    "/a\r\nSet-Cookie:x/v1/info");
	CHECK_MOUNT("/a%7F/v1/info", "/a\x7f", "/v1/info", NULL, MOUNT_OK, "", "/a\x7f/v1/info");
	/* Nor a mount longer than MOUNT_PATH_MAX. */
	long_uri = malloc(MOUNT_PATH_MAX + 64);
	long_uri[0] = '/';
	for (i = 1; i <= MOUNT_PATH_MAX; i++)
		long_uri[i] = 'a';
	memcpy(long_uri + MOUNT_PATH_MAX + 1, "/v1/info", sizeof("/v1/info"));
	ck_assert_int_eq(resolve(long_uri, NULL, "/v1/info", NULL, &p, &q), MOUNT_OK);
	ck_assert_str_eq(p, "");
	ck_assert_str_eq(q, long_uri);
	free(p);
	free(q);
	free(long_uri);
	/* Empty segments before PATH_INFO are no mount either. */
	CHECK_MOUNT("/////x", NULL, "/x", NULL, MOUNT_OK, "", "/////x");
}
END_TEST

START_TEST(forced)
{
	const char *rp = "/~alice/routstr";

	/* ROOT_PATH wins over whatever the server says. */
	CHECK_MOUNT("/~alice/routstr/v1/info", "", "/~alice/routstr/v1/info", rp, MOUNT_OK,
	    "/~alice/routstr", "/v1/info");
	CHECK_MOUNT("/%7Ealice/routstr/v1/info", "/~alice/routstr/v1/info", NULL, rp, MOUNT_OK,
	    "/~alice/routstr", "/v1/info");
	CHECK_MOUNT("/~alice/routstr", "/~alice/routstr", NULL, rp, MOUNT_OK, "/~alice/routstr",
	    "/");
	CHECK_MOUNT("/~alice/routstr/", "/~alice/routstr", "/", rp, MOUNT_OK, "/~alice/routstr",
	    "/");
	/* Outside the mount: 404, with the whole path for the message. */
	CHECK_MOUNT("/~alice/routstrX/v1/info", "", "/~alice/routstrX/v1/info", rp, MOUNT_OUTSIDE,
	    "", "/~alice/routstrX/v1/info");
	CHECK_MOUNT("/v1/info", "", "/v1/info", rp, MOUNT_OUTSIDE, "", "/v1/info");
	CHECK_MOUNT("/~alice", "", "/~alice", rp, MOUNT_OUTSIDE, "", "/~alice");
	/* "/": the whole site, even when the server suggests a mount, and
	 * every path is below it (the fuzzer found "*" refused). */
	CHECK_MOUNT("/~alice/routstr/v1/info", "/~alice/routstr", "/v1/info", "/", MOUNT_OK, "",
	    "/~alice/routstr/v1/info");
	CHECK_MOUNT("*", NULL, NULL, "/", MOUNT_OK, "", "*");
}
END_TEST

START_TEST(path_rules)
{
	static const char *const good[] = { "/a", "/~alice/routstr", "/a/b/c", "/a.b", "/...",
		"/.a", "/a..", "/\xc3\xa9", "/a b" };
	static const char *const bad[] = { "", "/", "a", "a/b", "/a/", "//a", "/a//b", "/.",
		"/..", "/a/./b", "/a/../b", "/a/.", "/a/..", "/a\tb", "/a\nb", "/a\x7f" };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(mount_path_ok(good[i], strlen(good[i])), "%s should be a mount", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!mount_path_ok(bad[i], strlen(bad[i])), "'%s' should not be a mount",
		    bad[i]);
	ck_assert(mount_setting_ok(""));
	ck_assert(mount_setting_ok("/"));
	ck_assert(mount_setting_ok("/~alice/routstr"));
	ck_assert(!mount_setting_ok("/~alice/routstr/"));
	ck_assert(!mount_setting_ok("~alice"));
	ck_assert(!mount_setting_ok("//"));
}
END_TEST

START_TEST(urls)
{
	char *u;

	u = mount_url("", "/admin/");
	ck_assert_str_eq(u, "/admin/");
	free(u);
	u = mount_url("/~alice/routstr", "/admin/");
	ck_assert_str_eq(u, "/~alice/routstr/admin/");
	free(u);
	u = mount_url("/~alice/routstr", "/");
	ck_assert_str_eq(u, "/~alice/routstr/");
	free(u);
	u = mount_url("/~alice/routstr", "admin");
	ck_assert_str_eq(u, "/~alice/routstr/admin");
	free(u);
	u = mount_url("", "");
	ck_assert_str_eq(u, "/");
	free(u);
}
END_TEST

Suite *
suite(void)
{
	Suite *s = suite_create("mount");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, whole_site);
	tcase_add_test(tc, sub_path);
	tcase_add_test(tc, ambiguous_and_odd);
	tcase_add_test(tc, bad_paths);
	tcase_add_test(tc, hostile_mounts);
	tcase_add_test(tc, forced);
	tcase_add_test(tc, path_rules);
	tcase_add_test(tc, urls);
	suite_add_tcase(s, tc);
	return s;
}
