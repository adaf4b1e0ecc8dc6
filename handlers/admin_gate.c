/* admin_gate: who may use the operator's routes (AUTH_ADMIN in the route
 * table). The dispatcher (fcgi/http.c) calls admin_gate() before any such
 * handler, so none can forget it:
 *
 *   Authorization: Bearer rsa_...   an admin token (routstrctl admin-token),
 *                                    for scripts, or a session id from POST
 *                                    /admin/api/login; no cookie, so no CSRF;
 *   Cookie: routstr_admin=<id>       a login session; every request but GET
 *                                    and HEAD must also carry the session's
 *                                    CSRF token, as the form field "csrf" or
 *                                    the header X-CSRF-Token.
 *
 * Anything else: a page route redirects to the login page, an API route
 * answers 401; a missing or wrong CSRF token answers 403. Sessions live in
 * SQLite (lib/admin_auth.c), so every process and thread agrees. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_auth.h"
#include "admin_gate.h"
#include "admin_view.h"
#include "http.h"
#include "log.h"
#include "router.h"
#include "server.h"
#include "util.h"

/* The value of cookie name in the Cookie header, copied into out (n
 * bytes); false when absent or too long. */
static bool
cookie(const struct req *r, const char *name, char *out, size_t n)
{
	const char *h = req_header(r, "cookie"), *p, *end;
	size_t nl = strlen(name);

	for (p = h; p && *p; p = end) {
		while (*p == ' ' || *p == ';')
			p++;
		end = strchr(p, ';');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
			size_t vl = (size_t)(end - p) - nl - 1;

			if (vl >= n)
				return false;
			memcpy(out, p + nl + 1, vl);
			out[vl] = '\0';
			return true;
		}
	}
	return false;
}

bool
admin_session_of(struct req *r, struct admin_session *s)
{
	char id[ADMIN_SECRET_LEN + 2];

	return cookie(r, ADMIN_COOKIE, id, sizeof(id)) &&
	    admin_session_check(r->worker->db, id, wall_sec(), s) == RERR_OK;
}

static void
refuse(struct req *r, int status, const char *msg)
{
	if (status == 401 && (r->route->flags & ROUTE_PAGE)) {
		/* The gate's own answer, not the handler's: a redirect that
		 * shows nothing, which the dispatcher's rule (no success
		 * without the route's credential) must let through. */
		r->authenticated = true;
		admin_redirect(r, "/admin/login");
		return;
	}
	resp_header(r, "Cache-Control", "no-store");
	resp_error(r, status, status == 401 ? "authentication_error" : "permission_error",
	    status == 401 ? "unauthorized" : "csrf_failed", "%s", msg);
}

int
admin_gate(struct req *r)
{
	const char *auth = req_header(r, "authorization");
	struct admin_session s;
	char *form = NULL;
	const char *sent;
	bool ok;

	if (auth && str_iprefix(auth, "Bearer ")) {
		const char *tok = auth + 7;

		while (*tok == ' ')
			tok++;
		/* An admin token, or a session id handed out by POST
		 * /admin/api/login (Routstr's dashboard sends it this way).
		 * Neither rides along by itself as a cookie does: no CSRF. */
		if (admin_token_check(r->worker->db, tok, wall_sec(), NULL) == RERR_OK ||
		    admin_session_check(r->worker->db, tok, wall_sec(), &s) == RERR_OK) {
			r->authenticated = true;
			return 0;
		}
		refuse(r, 401, "Unauthorized");
		return -1;
	}
	if (!admin_session_of(r, &s)) {
		refuse(r, 401, "Unauthorized");
		return -1;
	}
	if (r->method != HTTP_GET && r->method != HTTP_HEAD) {
		sent = req_header(r, "x-csrf-token");
		if (sent == NULL) {
			const char *ct = req_header(r, "content-type");

			if (ct && str_iprefix(ct, "application/x-www-form-urlencoded"))
				form = admin_form(r, "csrf", ADMIN_SECRET_LEN + 1, false);
			sent = form;
		}
		ok = admin_csrf_equal(sent, s.csrf);
		free(form);
		if (!ok) {
			log_warn("request %s: %s %s without its session's CSRF token", r->id,
			    r->method_str, r->path);
			refuse(r, 403, "Missing or wrong CSRF token");
			return -1;
		}
	}
	snprintf(r->csrf, sizeof(r->csrf), "%s", s.csrf);
	r->authenticated = true;
	return 0;
}
