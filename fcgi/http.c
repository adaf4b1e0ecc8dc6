/* http: reading one FastCGI exchange into a struct req, dispatching it
 * through the route table, and writing the response. */
#include "config.h"

#include <fcgiapp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "db.h"
#include "http.h"
#include "settings.h"
#include "json.h"
#include "log.h"
#include "mount.h"
#include "router.h"
#include "server.h"
#include "util.h"

#define READ_CHUNK 65536
#define DRAIN_MAX (1u << 20)	/* body bytes read and dropped to keep a connection */

/* Why parse_params refused a request before routing. */
enum door {
	DOOR_OK, DOOR_BAD_PATH, DOOR_OUTSIDE_MOUNT, DOOR_BAD_HEADER, DOOR_BAD_LENGTH,
	DOOR_HEADERS_TOO_LARGE,
};

static const char *const method_names[HTTP_METHOD__MAX] = {
	[HTTP_GET] = "GET", [HTTP_HEAD] = "HEAD", [HTTP_POST] = "POST", [HTTP_PUT] = "PUT",
	[HTTP_DELETE] = "DELETE", [HTTP_PATCH] = "PATCH", [HTTP_OPTIONS] = "OPTIONS",
	[HTTP_OTHER] = "OTHER",
};

static const char *
status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 307: return "Temporary Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Status";
	}
}

static FCGX_Request *
fcgx(const struct req *r)
{
	return r->io;
}

/* ---- request ------------------------------------------------------- */

const char *
req_header(const struct req *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++)
		if (strcmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

const char *
req_prefix(const struct req *r)
{
	return r->prefix;
}

char *
req_url(const struct req *r, const char *path)
{
	return mount_url(r->prefix, path);
}

char *
req_query(const struct req *r, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = r->query;

	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);

		if (len >= nlen && strncmp(p, name, nlen) == 0 && (len == nlen || p[nlen] == '='))
			return len == nlen ? xstrdup("") : xstrndup(p + nlen + 1, len - nlen - 1);
		p = amp ? amp + 1 : NULL;
	}
	return NULL;
}

static enum http_method
method_of(const char *s)
{
	int m;

	for (m = 0; m < HTTP_OTHER; m++)
		if (strcmp(s, method_names[m]) == 0)
			return (enum http_method)m;
	return HTTP_OTHER;
}

/* "HTTP_X_CASHU" → "x-cashu". */
static char *
header_name(const char *env, size_t n)
{
	char *s = xstrndup(env, n), *p;

	for (p = s; *p; p++) {
		if (*p == '_')
			*p = '-';
		else if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	}
	return s;
}

/* True when s holds a control character a header must not carry: C0 other
 * than TAB, and DEL. CR and LF would end the line when the header is passed
 * on (to the upstream, into a log). A NUL never gets here: libfcgi hands
 * params over as C strings, so one ends the value where it stands. */
static bool
has_ctl(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return true;
	}
	return false;
}

/* Count one header and keep it (name is taken, value copied) while the
 * total stays within max bytes; past it only the count grows, for the 431. */
static void
add_header(struct req *r, char *name, const char *value, size_t max)
{
	r->header_bytes += strlen(name) + strlen(value);
	if (r->header_bytes > max) {
		free(name);
		return;
	}
	r->headers[r->nheaders].name = name;
	r->headers[r->nheaders].value = xstrdup(value);
	r->nheaders++;
}

/* Fill method, path, query and headers from the FastCGI params. Every header
 * is kept up to MAX_HEADER_BYTES (r->headers has a slot per param, so no
 * count limit can drop one). Returns DOOR_OK or why the request is refused. */
static enum door
parse_params(struct req *r, char **envp)
{
	const char *uri, *method, *cl;
	char **e, *prefix, *path;
	struct mount_cgi mc = { 0 };
	enum door mounted = DOOR_OK;
	size_t nenv = 0, max = (size_t)conf_int(conf_get(), CONF_MAX_HEADER_BYTES);
	bool bad = false;

	method = FCGX_GetParam("REQUEST_METHOD", envp);
	r->method_str = method ? method : "GET";
	r->method = method_of(r->method_str);
	r->remote_addr = FCGX_GetParam("REMOTE_ADDR", envp);
	if (r->remote_addr == NULL)
		r->remote_addr = "";

	for (e = envp; *e; e++)
		nenv++;
	r->headers = xcalloc(nenv + 1, sizeof(*r->headers));
	for (e = envp; *e; e++) {
		const char *eq = strchr(*e, '=');
		bool hdr = strncmp(*e, "HTTP_", 5) == 0 || strncmp(*e, "CONTENT_TYPE=", 13) == 0 ||
		    strncmp(*e, "CONTENT_LENGTH=", 15) == 0;

		if (eq == NULL)
			continue;
		if (hdr && has_ctl(*e, strlen(*e)))
			bad = true;
		else if (strncmp(*e, "HTTP_", 5) == 0 && eq > *e + 5)
			add_header(r, header_name(*e + 5, (size_t)(eq - *e - 5)), eq + 1, max);
		else if (strncmp(*e, "CONTENT_TYPE=", 13) == 0 && eq[1])
			add_header(r, xstrdup("content-type"), eq + 1, max);
		else if (strncmp(*e, "CONTENT_LENGTH=", 15) == 0 && eq[1])
			add_header(r, xstrdup("content-length"), eq + 1, max);
	}

	{
		const char *https = FCGX_GetParam("HTTPS", envp);
		const char *scheme = FCGX_GetParam("REQUEST_SCHEME", envp);

		r->https = (https && str_ieq(https, "on")) || (scheme && str_ieq(scheme, "https"));
	}

	/* The path and the mount it is under (lib/mount.h): from REQUEST_URI
	 * (raw, decoded here), SCRIPT_NAME and PATH_INFO, or the ROOT_PATH
	 * setting; never from a header. The query is REQUEST_URI's, else
	 * QUERY_STRING. */
	uri = FCGX_GetParam("REQUEST_URI", envp);
	mc.script_name = FCGX_GetParam("SCRIPT_NAME", envp);
	mc.path_info = FCGX_GetParam("PATH_INFO", envp);
	mc.root_path = conf_str(conf_get(), CONF_ROOT_PATH);
	if (uri && *uri) {
		const char *q = strchr(uri, '?');

		mc.uri = uri;
		mc.uri_len = q ? (size_t)(q - uri) : strlen(uri);
		r->query = xstrdup(q ? q + 1 : "");
	} else {
		const char *qs = FCGX_GetParam("QUERY_STRING", envp);

		r->query = xstrdup(qs ? qs : "");
	}
	switch (mount_resolve(&mc, &prefix, &path)) {
	case MOUNT_OK:
		break;
	case MOUNT_BAD_PATH:
		mounted = DOOR_BAD_PATH;
		break;
	case MOUNT_OUTSIDE:
		mounted = DOOR_OUTSIDE_MOUNT;
		break;
	}
	r->prefix = prefix;
	r->path = path;
	if (mounted != DOOR_OK)
		return mounted;
	if (bad)
		return DOOR_BAD_HEADER;
	if (r->header_bytes > max)
		return DOOR_HEADERS_TOO_LARGE;

	r->content_length = -1;
	cl = FCGX_GetParam("CONTENT_LENGTH", envp);
	if (cl && *cl) {
		uint64_t v;

		if (parse_u64(cl, INT64_MAX, &v) < 0)
			return DOOR_BAD_LENGTH;
		r->content_length = (int64_t)v;
	}
	return DOOR_OK;
}

/* Read and drop what is left of the request body, up to max bytes: true
 * when it ended there (the connection can serve the next request). */
static bool
drain_body(struct req *r, size_t max)
{
	FCGX_Request *f = fcgx(r);
	char chunk[READ_CHUNK];
	size_t seen = 0;
	int n;

	while (seen <= max && (n = FCGX_GetStr(chunk, sizeof(chunk), f->in)) > 0)
		seen += (size_t)n;
	return seen <= max && FCGX_HasSeenEOF(f->in);
}

/* Read the body up to limit bytes. Returns 0, 413 when it is larger (the
 * rest is not buffered), or 400 when it disagrees with Content-Length. */
static int
read_body(struct req *r, size_t limit)
{
	FCGX_Request *f = fcgx(r);
	struct buf b;
	char chunk[READ_CHUNK];
	int n;

	if (r->content_length > 0 && (uint64_t)r->content_length > limit)
		return 413;
	buf_init(&b, limit);
	for (;;) {
		n = FCGX_GetStr(chunk, sizeof(chunk), f->in);
		if (n <= 0)
			break;
		if (buf_append(&b, chunk, (size_t)n) < 0) {
			buf_free(&b);
			return 413;
		}
	}
	r->body_done = FCGX_HasSeenEOF(f->in) != 0;
	r->body_len = b.len;
	r->body = buf_steal(&b, NULL);
	if (r->content_length >= 0 && (uint64_t)r->content_length != r->body_len)
		return 400;
	return 0;
}

/* ---- response ------------------------------------------------------ */

void
resp_status(struct req *r, int status)
{
	r->status = status;
}

int
resp_header(struct req *r, const char *name, const char *value)
{
	if (r->headers_sent || strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
		return -1;
	/* Every answer is dynamic and may carry a key or a token: send_headers
	 * says no-store, and nobody (an upstream's header included) overrides it. */
	if (str_ieq(name, "Cache-Control"))
		return 0;
	buf_printf(&r->out_headers, "%s: %s\r\n", name, value);
	return 0;
}

/* The CORS headers of every answer, added before the headers go out. An
 * origin listed in CORS_ORIGINS is echoed, with Vary and credentials; "*"
 * lets any origin read without credentials (browsers refuse the pair, and
 * echoing any origin with credentials would hand keys to every site). */
static void
cors_headers(struct req *r)
{
	const char *origin = req_header(r, "origin");
	size_t n, i;
	const char *const *allowed = conf_list(conf_get(), CONF_CORS_ORIGINS, &n);
	bool star = false, listed = false, specific = false;

	for (i = 0; i < n; i++) {
		if (strcmp(allowed[i], "*") == 0) {
			star = true;
			continue;
		}
		specific = true;
		if (origin && strcmp(allowed[i], origin) == 0)
			listed = true;
	}
	/* With named origins the answer depends on Origin, even without one. */
	if (specific)
		resp_header(r, "Vary", "Origin");
	if (origin == NULL || (!star && !listed))
		return;
	if (listed) {
		resp_header(r, "Access-Control-Allow-Origin", origin);
		resp_header(r, "Access-Control-Allow-Credentials", "true");
	} else {
		resp_header(r, "Access-Control-Allow-Origin", "*");
	}
	resp_header(r, "Access-Control-Expose-Headers",
	    "x-routstr-request-id, x-cashu, x-routstr-cost-msats, x-routstr-cost-usd, "
	    "x-routstr-input-cost-msats, x-routstr-output-cost-msats");
}

/* Send the status line and headers once, before the first body byte. The
 * headers every answer carries are added here, while resp_header still
 * takes them. Returns 0, or -1 when the client has gone. */
static int
send_headers(struct req *r)
{
	FCGX_Request *f = fcgx(r);

	if (r->headers_sent)
		return r->client_gone ? -1 : 0;
	if (r->status == 0)
		r->status = 200;
	if (r->route && r->route->auth != AUTH_NONE && !r->authenticated && r->status < 400) {
		/* A handler that forgot the credential its route declares never
		 * gets a success out: the client gets a 500 and the handler's
		 * further writes fail as if the client had left. */
		static const char body[] = "{\"error\":{\"message\":\"Internal server error\","
		    "\"type\":\"internal_error\",\"code\":null}}";

		log_error("request %s: route %s answered %d without authenticating; refused",
		    r->id, r->route->name, r->status);
		r->status = 500;
		buf_reset(&r->out_headers);
		resp_header(r, "Content-Type", "application/json");
		cors_headers(r);
		r->headers_sent = true;
		FCGX_FPrintF(f->out, "Status: 500 %s\r\nx-routstr-request-id: %s\r\n"
		    "Cache-Control: no-store\r\n%.*s\r\n%s", status_text(500), r->id,
		    (int)r->out_headers.len, r->out_headers.data, body);
		r->client_gone = true;
		return -1;
	}
	cors_headers(r);
	r->headers_sent = true;
	if (FCGX_FPrintF(f->out, "Status: %d %s\r\nx-routstr-request-id: %s\r\n"
	    "Cache-Control: no-store\r\n", r->status, status_text(r->status), r->id) < 0 ||
	    (r->out_headers.len && FCGX_PutStr(r->out_headers.data, (int)r->out_headers.len,
	    f->out) < 0) ||
	    FCGX_PutStr("\r\n", 2, f->out) < 0) {
		r->client_gone = true;
		return -1;
	}
	return 0;
}

int
resp_write(struct req *r, const void *p, size_t n)
{
	FCGX_Request *f = fcgx(r);

	/* A slow client must not hold a pooled database connection. */
	if (r->worker)
		db_release(r->worker->db);
	if (send_headers(r) < 0)
		return -1;
	if (r->method == HTTP_HEAD || n == 0)
		return 0;
	while (n > 0) {
		int part = n > (1u << 30) ? 1 << 30 : (int)n;

		if (FCGX_PutStr(p, part, f->out) != part) {
			r->client_gone = true;
			return -1;
		}
		r->bytes_out += (uint64_t)part;
		p = (const char *)p + part;
		n -= (size_t)part;
	}
	return 0;
}

int
resp_flush(struct req *r)
{
	FCGX_Request *f = fcgx(r);

	if (r->worker)
		db_release(r->worker->db);
	if (send_headers(r) < 0)
		return -1;
	if (FCGX_FFlush(f->out) < 0 || FCGX_GetError(f->out) != 0) {
		r->client_gone = true;
		return -1;
	}
	return 0;
}

int
resp_stream(struct req *r, const void *p, size_t n)
{
	if (resp_write(r, p, n) < 0)
		return -1;
	return resp_flush(r);
}

void
resp_json(struct req *r, int status, struct json_object *obj)
{
	size_t len;
	const char *s = json_compact(obj, &len);
	char cl[32];

	resp_status(r, status);
	resp_header(r, "Content-Type", "application/json");
	snprintf(cl, sizeof(cl), "%zu", len);
	resp_header(r, "Content-Length", cl);
	resp_write(r, s, len);
	json_object_put(obj);
}

void
resp_error_obj(struct req *r, int status, struct json_object *error)
{
	struct json_object *env = json_object_new_object();

	json_object_object_add(env, "error", error);
	json_object_object_add(env, "request_id", json_object_new_string(r->id));
	req_log_extra(r, "error=%s", json_get_str(error, "type") ? json_get_str(error, "type") : "?");
	resp_json(r, status, env);
}

void
resp_error(struct req *r, int status, const char *type, const char *code, const char *fmt, ...)
{
	struct json_object *err = json_object_new_object();
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(err, "message", json_object_new_string(msg));
	json_object_object_add(err, "type", json_object_new_string(type));
	json_object_object_add(err, "code",
	    code ? json_object_new_string(code) : json_object_new_int(status));
	resp_error_obj(r, status, err);
}

void
req_log_extra(struct req *r, const char *fmt, ...)
{
	char add[512];
	va_list ap;
	char *joined;

	va_start(ap, fmt);
	vsnprintf(add, sizeof(add), fmt, ap);
	va_end(ap);
	joined = r->log_extra ? xasprintf("%s %s", r->log_extra, add) : xstrdup(add);
	free(r->log_extra);
	r->log_extra = joined;
}

/* ---- dispatch ------------------------------------------------------ */

static void
req_free(struct req *r)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	free((char *)r->path);
	free((char *)r->prefix);
	free((char *)r->query);
	free(r->body);
	free(r->log_extra);
	buf_free(&r->out_headers);
}

/* Answer a CORS preflight (OPTIONS with Origin and Access-Control-Request-
 * Method) before routing, as Routstr's middleware does. */
static bool
preflight(struct req *r)
{
	const char *rh;

	if (r->method != HTTP_OPTIONS || req_header(r, "origin") == NULL ||
	    req_header(r, "access-control-request-method") == NULL)
		return false;
	resp_status(r, 200);
	resp_header(r, "Access-Control-Allow-Methods", "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT");
	rh = req_header(r, "access-control-request-headers");
	if (rh)
		resp_header(r, "Access-Control-Allow-Headers", rh);
	resp_header(r, "Access-Control-Max-Age", "600");
	resp_header(r, "Content-Type", "text/plain; charset=utf-8");
	resp_header(r, "Content-Length", "2");
	resp_write(r, "OK", 2);
	return true;
}

void
http_serve(struct worker *w)
{
	FCGX_Request *f = w->fcgx;
	const struct conf *c = conf_get();
	struct req r;
	const struct route *rt;
	char *full;
	int status, mismatch = 0;

	/* Settings saved in the dashboard by another process (at most one
	 * look a second). */
	settings_refresh(w->db);
	memset(&r, 0, sizeof(r));
	r.start_us = mono_usec();
	r.worker = w;
	r.io = f;
	buf_init(&r.out_headers, 64 * 1024);
	uuid7(r.id);

	switch (parse_params(&r, f->envp)) {
	case DOOR_OK:
		break;
	case DOOR_HEADERS_TOO_LARGE:
		resp_error(&r, 431, "invalid_request_error", "headers_too_large",
		    "Request headers total %zu bytes; the limit is %lld", r.header_bytes,
		    (long long)conf_int(c, CONF_MAX_HEADER_BYTES));
		goto done;
	case DOOR_BAD_HEADER:
		/* Refused before any handler: a CR or LF passed on would let the
		 * client write its own lines into the upstream request. */
		resp_error(&r, 400, "invalid_request_error", "invalid_header",
		    "A request header contains a control character");
		goto done;
	case DOOR_OUTSIDE_MOUNT:
		/* ROOT_PATH is set and the web server sent a path outside it. */
		resp_error(&r, 404, "not_found", NULL, "Path '%s' not found", r.path);
		goto done;
	case DOOR_BAD_PATH:
	case DOOR_BAD_LENGTH:
		resp_error(&r, 400, "invalid_request_error", "bad_request",
		    "Malformed request path or Content-Length");
		goto done;
	}
	if (preflight(&r))
		goto done;

	rt = router_match(routes, routes_count, r.path, r.method, &mismatch);
	if (rt == NULL && mismatch) {
		static const char *const names[HTTP_METHOD__MAX] = {
			"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", NULL,
		};
		unsigned allowed = router_allowed(routes, routes_count, r.path);
		char allow[64] = "";
		size_t m;

		/* What the route table really allows on this path. */
		for (m = 0; m < HTTP_METHOD__MAX; m++)
			if (names[m] && (allowed & HTTP_M(m)))
				snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow), "%s%s",
				    allow[0] ? ", " : "", names[m]);
		resp_header(&r, "Allow", allow);
		resp_error(&r, 405, "invalid_request_error", "method_not_allowed",
		    "Method %s not allowed on %s%s", r.method_str, r.prefix, r.path);
		goto done;
	}
	if (rt == NULL) {
		resp_error(&r, 404, "not_found", NULL, "Path '%s%s' not found", r.prefix, r.path);
		goto done;
	}
	r.route = rt;
	status = read_body(&r, rt->max_body ? rt->max_body : (size_t)conf_int(c, CONF_MAX_BODY_BYTES));
	if (status == 413) {
		resp_error(&r, 413, "invalid_request_error", "request_too_large",
		    "Request body is larger than the limit of %lld bytes",
		    (long long)(rt->max_body ? (int64_t)rt->max_body : conf_int(c, CONF_MAX_BODY_BYTES)));
		goto done;
	}
	if (status == 400) {
		resp_error(&r, 400, "invalid_request_error", "invalid_content_length",
		    "Request body is %zu bytes but Content-Length says %lld", r.body_len,
		    (long long)r.content_length);
		goto done;
	}
	/* The operator's routes: a login session (with its CSRF token on
	 * anything but a read) or an admin token, checked here for every
	 * route that declares it, before its handler runs. */
	if (rt->auth == AUTH_ADMIN && admin_gate(&r) != 0)
		goto done;
	rt->handler(&r);
	if (!r.headers_sent && !r.client_gone) {
		/* A handler that wrote nothing is a bug; never leave the client hanging. */
		log_error("handler %s wrote no response", rt->name);
		resp_error(&r, 500, "internal_error", NULL, "Internal server error");
	}
done:
	/* Unread request bytes must not be taken for the next request on a
	 * kept-alive FastCGI connection: read what is left (a little), else
	 * close it. Closing it when the body was read whole, as this did for
	 * every refused POST, broke connections Apache's mod_proxy_fcgi had
	 * pooled (enablereuse): its next request there met EOF, a 503. */
	if (!r.body_done && !drain_body(&r, DRAIN_MAX))
		f->keepConnection = 0;
	full = r.prefix && *r.prefix ? mount_url(r.prefix, r.path) : NULL;
	log_request(r.id, r.method_str, full ? full : r.path,
	    r.client_gone && r.status == 0 ? 499 : r.status, r.bytes_out,
	    mono_usec() - r.start_us, r.log_extra);
	free(full);
	req_free(&r);
}
