/* auth: see auth.h. */
#include "config.h"

#include <string.h>
#include <openssl/sha.h>

#include "auth.h"
#include "errors.h"
#include "handlers.h"
#include "log.h"
#include "server.h"
#include "util.h"
#include "wallet_glue.h"

const char *
auth_bearer(const struct req *r)
{
	const char *h = req_header(r, "authorization"), *p;

	if (h == NULL) {
		/* Anthropic's clients send the key as x-api-key. */
		h = req_header(r, "x-api-key");
		return h != NULL ? h : "";
	}
	while (*h == ' ' || *h == '\t')
		h++;
	if (!str_iprefix(h, "bearer") || (h[6] != ' ' && h[6] != '\t'))
		return "";
	p = h + 6;
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

void
auth_token_hash(const char *token, char out[65])
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)token, strlen(token), md);
	hex_encode(md, sizeof(md), out);
}

static void
invalid_key(struct req *r)
{
	api_error(r, E_INVALID_API_KEY);
}

static int
lookup(struct req *r, const char *hash, struct auth *a)
{
	enum rerr e;

	if (strlen(hash) > LEDGER_KEY_MAX) {
		invalid_key(r);
		return -1;
	}
	e = ledger_key_get(r->worker->db, hash, &a->key, &a->billing);
	if (e == RERR_NOT_FOUND || e == RERR_INVALID) {	/* "sk-" alone is no key */
		invalid_key(r);
		return -1;
	}
	if (e != RERR_OK) {
		api_error(r, E_KEY_READ_FAILED);
		return -1;
	}
	memcpy(a->hash, hash, strlen(hash) + 1);
	r->authenticated = true;
	return 0;
}

int
auth_key(struct req *r, bool create, struct auth *a)
{
	const char *cred = auth_bearer(r);
	char hash[65];

	memset(a, 0, sizeof(*a));
	if (*cred == '\0') {
		api_error(r, E_MISSING_API_KEY);
		return -1;
	}
	if (strncmp(cred, "sk-", 3) == 0)
		return lookup(r, cred + 3, a);
	if (strncmp(cred, "cashu", 5) == 0) {
		auth_token_hash(cred, hash);
		a->from_token = true;
		if (ledger_key_get(r->worker->db, hash, &a->key, &a->billing) == RERR_OK) {
			memcpy(a->hash, hash, sizeof(hash));
			r->authenticated = true;
			return 0;
		}
		if (!create) {
			invalid_key(r);
			return -1;
		}
		if (wallet_glue_create_key(r, cred, hash, NULL) < 0)
			return -1;
		a->created = true;
		return lookup(r, hash, a);
	}
	invalid_key(r);
	return -1;
}
