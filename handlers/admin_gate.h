/* admin_gate: see admin_gate.c (the AUTH_ADMIN check the dispatcher runs). */
#ifndef ROUTSTR_ADMIN_GATE_H
#define ROUTSTR_ADMIN_GATE_H

#include <stdbool.h>

#include "http.h"

#define ADMIN_COOKIE "routstr_admin"

struct admin_session;

/* The live login session r's cookie names, into *s. */
bool admin_session_of(struct req *r, struct admin_session *s);

#endif
