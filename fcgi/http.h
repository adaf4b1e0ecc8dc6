/* http: the request and response of one FastCGI exchange, as handlers see
 * them. fcgi/ knows HTTP and nothing about money; handlers read a parsed
 * struct req and answer through the resp_* calls. A struct req is owned by
 * the worker thread that accepted it and lives until the exchange ends. */
#ifndef ROUTSTR_HTTP_H
#define ROUTSTR_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "buf.h"

struct worker;
struct route;

enum http_method {
	HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_DELETE, HTTP_PATCH, HTTP_OPTIONS,
	HTTP_OTHER, HTTP_METHOD__MAX
};
#define HTTP_M(m) (1u << (m))

struct http_header {
	char *name;	/* lower-case, '-' separated ("content-type") */
	char *value;
};

struct req {
	char id[37];			/* x-routstr-request-id (UUID v4) */
	enum http_method method;
	const char *method_str;		/* as sent */
	const char *path;		/* decoded path below the mount, no query: "/v1/info"
					 * also at /~alice/routstr/v1/info; never NULL */
	const char *prefix;		/* the mount in URL form, "" at the whole site
					 * (lib/mount.h); never NULL; use req_prefix */
	const char *query;		/* raw query string, "" if none */
	const char *remote_addr;
	struct http_header *headers;	/* owned by the req */
	size_t nheaders;
	size_t header_bytes;		/* sum of names and values */
	char *body;			/* owned; NUL-terminated; NULL when empty */
	bool body_done;			/* the body was read to its end */
	size_t body_len;
	int64_t content_length;		/* -1 when absent */
	int64_t start_us;

	struct worker *worker;		/* the thread that owns this exchange */
	const struct route *route;	/* matched route, NULL for 404 */
	void *io;			/* the FastCGI request (fcgi/ private) */

	/* response state */
	int status;
	bool headers_sent;
	bool client_gone;		/* a write failed: the client left */
	bool https;			/* the web server says the client used TLS */
	char csrf[48];			/* AUTH_ADMIN by a login session: its CSRF
					 * token (the gate fills it), else "" */
	bool authenticated;		/* the handler resolved the route's credential
					 * (handlers/auth.c); a route that declares auth
					 * cannot answer below 400 without it */
	uint64_t bytes_out;
	struct buf out_headers;		/* "Name: value\r\n" lines not yet sent */
	char *log_extra;		/* owned; extra fields for the access line */
};

/* A request header by lower-case name, borrowed from r; NULL if absent. */
const char *req_header(const struct req *r, const char *name);
/* Where the node is mounted, for every URL it hands out. The node may be
 * the whole site or live under a sub-path (https://host/~alice/routstr/);
 * r->path is below the mount either way, so a link, form action, redirect
 * or cookie Path built from a route's path alone breaks under a sub-path.
 *
 * req_prefix: the mount in URL form, "" at the whole site, else e.g.
 * "/~alice/routstr" (no trailing slash; borrowed from r). It comes from the
 * web server's CGI params or the ROOT_PATH setting, never from a request
 * header, and is %-encoded so it is safe in a URL, a header, a cookie
 * attribute and an HTML attribute as it is. Use it as a cookie's Path (with
 * "/" when it is ""), or to compare with a path the client sent.
 * req_url: the absolute URL path (no scheme, no host: the node never trusts
 * Host) of path under the mount, in a new string the caller frees:
 * req_url(r, "/admin/") is "/~alice/routstr/admin/" or "/admin/". path is
 * URL text: %-encode any value from elsewhere before putting it in. Use it
 * for href, form action and Location. */
const char *req_prefix(const struct req *r);
char *req_url(const struct req *r, const char *path);

/* A query parameter's raw (still percent-encoded) value copied into a new
 * string the caller frees; NULL if absent. */
char *req_query(const struct req *r, const char *name);

/* Set the status (default 200) and add response headers before the first
 * write. Header values with CR or LF are refused (returns -1). Every answer
 * gets Cache-Control: no-store and the CORS headers when its headers go
 * out; a Cache-Control given here is ignored (returns 0). */
void resp_status(struct req *r, int status);
int resp_header(struct req *r, const char *name, const char *value);

/* Write body bytes. The first write sends the status and headers. resp_write
 * buffers (libfcgi's 8 KiB buffer); resp_flush pushes it to the client now.
 * Both return 0, or -1 when the client has gone (r->client_gone is set and
 * later writes are dropped). */
int resp_write(struct req *r, const void *p, size_t n);
int resp_flush(struct req *r);
/* Write one unit (an SSE event) and flush it: one flush per call. */
int resp_stream(struct req *r, const void *p, size_t n);

/* A complete JSON response. Takes the caller's reference to obj. */
void resp_json(struct req *r, int status, struct json_object *obj);
/* The error envelope {"error":{"message","type","code"},"request_id"}.
 * code NULL means the numeric status, as Routstr does. */
void resp_error(struct req *r, int status, const char *type, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The same envelope with an extra member in "error" (takes obj's reference). */
void resp_error_obj(struct req *r, int status, struct json_object *error);

/* Append "k=v" to the access line's extra fields. */
void req_log_extra(struct req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
