/* router: the route table. Each route declares what it needs (methods, auth,
 * body limit); the dispatcher enforces it so no handler can forget. */
#ifndef ROUTSTR_ROUTER_H
#define ROUTSTR_ROUTER_H

#include <stddef.h>

#include "http.h"

enum route_auth {
	AUTH_NONE,	/* public */
	AUTH_KEY,	/* Bearer sk-/cashu token or X-Cashu: the handler resolves it (in
			 * Routstr's order, after the body), and the dispatcher refuses any
			 * answer below 400 it did not authenticate (fcgi/http.c) */
	AUTH_ADMIN,	/* the operator: a login session, whose CSRF token every request
			 * but GET and HEAD must carry, or an admin token; checked by
			 * the dispatcher through admin_gate() before the handler */
};

/* What a route's answers are, for the gate: ROUTE_PAGE routes answer HTML
 * (no session: a redirect to the login page), the others JSON (no session:
 * 401 in the API's error shape). */
#define ROUTE_PAGE 0x1u

/* MATCH_FALLBACK is a prefix that applies only to paths no other route
 * matches (whatever their method), and never turns into a 405. */
enum route_match { MATCH_EXACT, MATCH_PREFIX, MATCH_FALLBACK };

typedef void (*route_handler)(struct req *r);

struct route {
	const char *path;
	enum route_match match;
	unsigned methods;	/* HTTP_M(HTTP_GET) | ... */
	enum route_auth auth;
	size_t max_body;	/* 0: the configured max_body_bytes */
	route_handler handler;
	const char *name;	/* for logs */
	unsigned flags;		/* ROUTE_* */
};

/* The AUTH_ADMIN gate, supplied by the product (handlers/admin_gate.c): 0
 * when r may go on (r->authenticated set, r->csrf filled for a session),
 * else -1 after answering. */
struct req;
int admin_gate(struct req *r);

/* Find the route for method and path. NULL with *method_mismatch = 1 when a
 * route has the path but not the method (405), with 0 when none has it. */
const struct route *router_match(const struct route *table, size_t n, const char *path,
    enum http_method m, int *method_mismatch);

/* The methods any route of path allows (HTTP_M bits), for a true Allow
 * header on 405. */
unsigned router_allowed(const struct route *table, size_t n, const char *path);

/* The product's route table (handlers/routes.c). */
extern const struct route routes[];
extern const size_t routes_count;

#endif
