/* mount: where in the web server's URL space the node answers, and the URLs it
 * builds under that place. A node may be the whole site (https://host/v1/...)
 * or live under a sub-path, as on shared hosting under a user directory
 * (https://host/~alice/routstr/v1/...). The router sees the path below the
 * mount ("/v1/info" either way); every URL the node hands out (links, form
 * actions, redirects, cookie paths) is the mount followed by such a path.
 *
 * The mount comes only from what the web server itself passes (REQUEST_URI,
 * SCRIPT_NAME, PATH_INFO) or from the ROOT_PATH setting, never from a request
 * header (Host, X-Forwarded-Prefix, X-Script-Name are ignored), and a mount
 * that is not a clean path (empty, "." or ".." segments, a trailing slash, a
 * control character, more than MOUNT_PATH_MAX bytes) is never used.
 *
 * What the servers pass (observed, Debian 12; the README has the table):
 *   lighttpd, fastcgi.server "/~alice/routstr" =>  SCRIPT_NAME the mount,
 *     PATH_INFO the rest (decoded, %2F included); at the whole site with key
 *     "" SCRIPT_NAME is the whole path and there is no PATH_INFO.
 *   Apache mod_fcgid, ScriptAlias "/~alice/routstr/" bin/  SCRIPT_NAME the
 *     mount, PATH_INFO the rest (decoded, but %2F kept as is under
 *     AllowEncodedSlashes NoDecode); an .htaccess RewriteRule to
 *     routstr.fcgi/$1 gives SCRIPT_NAME ".../routstr.fcgi" (or worse) and the
 *     right PATH_INFO.
 *   Apache mod_proxy_fcgi: by default SCRIPT_NAME is the whole path and there
 *     is no PATH_INFO; with proxy-fcgi-pathinfo=unescape (SetEnvIf in the
 *     mount's <Location>) SCRIPT_NAME is the mount and PATH_INFO the rest.
 * So the mount is what comes before PATH_INFO in REQUEST_URI, which holds for
 * all of them, rewrites included; SCRIPT_NAME is only a fallback. */
#ifndef ROUTSTR_MOUNT_H
#define ROUTSTR_MOUNT_H

#include <stdbool.h>
#include <stddef.h>

#define MOUNT_PATH_MAX 1024	/* bytes of a (decoded) mount path */

/* The CGI params of one request and the ROOT_PATH setting, all borrowed. */
struct mount_cgi {
	const char *uri;	/* REQUEST_URI's path (before '?'), raw; NULL if absent */
	size_t uri_len;
	const char *script_name;	/* SCRIPT_NAME, NULL if absent */
	const char *path_info;	/* PATH_INFO, NULL if absent */
	const char *root_path;	/* ROOT_PATH: "" detect, "/" the whole site, else the mount */
};

enum mount_status {
	MOUNT_OK,
	MOUNT_BAD_PATH,		/* REQUEST_URI has a bad %-escape or an encoded NUL */
	MOUNT_OUTSIDE,		/* ROOT_PATH is set and the path is not under it */
};

/* True when s (decoded, n bytes) may be a mount: "/seg" or "/seg/seg...",
 * no empty, "." or ".." segment, no trailing '/', no byte below 0x20 nor DEL,
 * at most MOUNT_PATH_MAX bytes. The whole site ("") is not tested here. */
bool mount_path_ok(const char *s, size_t n);

/* True when s is a valid ROOT_PATH value: "" (detect), "/" (the whole site)
 * or a mount_path_ok path. */
bool mount_setting_ok(const char *s);

/* Work out the mount of one request. Always sets *prefix to the mount in URL
 * form ("" at the whole site, else "/~alice/routstr" with every byte outside
 * RFC 3986's unreserved characters, "/" and "!$()*+=:@" %-encoded, so it is
 * safe in a URL, a header, a cookie Path and an HTML attribute) and *path to
 * the decoded path below it (at least "/"); both are new strings the caller
 * frees. On MOUNT_OUTSIDE *path is the whole decoded path and *prefix "";
 * on MOUNT_BAD_PATH they are "/" and "".
 *
 * With ROOT_PATH set the mount is that setting, and a path that is neither
 * the mount itself nor below it is MOUNT_OUTSIDE. Otherwise, in order:
 *  1. PATH_INFO is set and the tail of REQUEST_URI is PATH_INFO (compared
 *     decoded; an encoded slash may arrive as "%2F"): the mount is what
 *     comes before, if it is "" or mount_path_ok;
 *  2. SCRIPT_NAME is a mount_path_ok path that the decoded path continues
 *     with "/": the mount is SCRIPT_NAME (ProxyFCGISetEnvIf SCRIPT_NAME, and
 *     the servers that pass no REQUEST_URI);
 *  3. else the whole site. mod_proxy_fcgi's default (SCRIPT_NAME = the whole
 *     path, no PATH_INFO) lands here and works at the whole site; under a
 *     sub-path it needs proxy-fcgi-pathinfo or ROOT_PATH.
 * Without REQUEST_URI the path is SCRIPT_NAME + PATH_INFO as the server
 * decoded them. The mount itself without its trailing slash has the path "/". */
enum mount_status mount_resolve(const struct mount_cgi *cgi, char **prefix, char **path);

/* prefix + path in a new string the caller frees: the URL (absolute path, no
 * scheme or host) of path under the mount. path should start with '/'; one is
 * put in between if it does not. path is taken as URL text: a value from
 * elsewhere must be %-encoded by the caller first. */
char *mount_url(const char *prefix, const char *path);

#endif
