/* auth: who pays for a request. Resolves "Authorization: Bearer sk-..." (or a
 * Cashu token, which becomes a key) into the presented key and the key whose
 * balance pays (its parent for a child key). */
#ifndef ROUTSTR_AUTH_H
#define ROUTSTR_AUTH_H

#include <stdbool.h>

#include "http.h"
#include "ledger.h"

struct auth {
	char hash[LEDGER_KEY_MAX + 1];	/* presented key: the text after "sk-" */
	struct ledger_key key;		/* the presented key's row */
	struct ledger_key billing;	/* the row whose balance pays */
	bool from_token;		/* the credential was a Cashu token */
	bool created;			/* ...and this request created the key */
};

/* The credential of "Authorization: Bearer X" (Routstr's proxy rule: split on
 * white space, first word "bearer" in any case), borrowed from r; "" when
 * absent or malformed. */
const char *auth_bearer(const struct req *r);

/* Resolve the bearer credential into *a. With create, a Cashu token is
 * redeemed into a new key (idempotent for the same token). Returns 0, or -1
 * after answering the client with the error (401, 400, 503, ...). */
int auth_key(struct req *r, bool create, struct auth *a);

/* "sk-" + 64 hex of SHA-256(token), Routstr's key for a token. out: 68 bytes. */
void auth_token_hash(const char *token, char out[65]);

#endif
