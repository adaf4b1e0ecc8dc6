/* cashu/wallet: see wallet.h. Every SQL statement on the Cashu tables lives
 * here, with bound parameters. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "conf.h"
#include "db_sql.h"
#include "json.h"
#include "log.h"
#include "util.h"
#include "cashu/wallet.h"
#include "owner.h"

#define WALLET_OUTPUTS_MAX 1000		/* outputs in one operation */
#define WALLET_SELECT_MAX 5000		/* unspent proofs considered for a selection */
#define WALLET_KEYS_FETCH_MAX 32	/* keyset key fetches per refresh */

enum role { ROLE_KEEP, ROLE_SEND, ROLE_BLANK, ROLE__MAX };
static const char *const role_names[ROLE__MAX] = { "keep", "send", "blank" };

/* One mint_operations row, loaded. Everything owned. */
struct op_row {
	int64_t id;
	char kind[8];
	char purpose[16];
	char state[16];
	char mint[512];
	char unit[16];
	char *quote;
	char *request_id;
	char api_key_hash[129];		/* beneficiary (receive) or debited key (send) */
	char source[32];
	char fund_ref[64];
	struct cashu_proof *in;
	size_t nin;
	struct mint_output *out;
	enum role *role;
	size_t nout;
	uint64_t amount, fee;
	int64_t updated_at;
};

/* ================================================================ small helpers */

void
wallet_ctx_init(struct wallet_ctx *w, struct db *db, struct upstream *up)
{
	const struct conf *c = conf_get();

	memset(w, 0, sizeof(*w));
	w->db = db;
	w->up = up;
	w->timeout_s = c ? (long)conf_int(c, CONF_MINT_OPERATION_TIMEOUT_SECONDS) : 30;
	w->max_attempts = c ? (int)conf_int(c, CONF_MINT_RETRY_MAX_ATTEMPTS) : 3;
	if (w->timeout_s <= 0)
		w->timeout_s = 30;
	if (w->max_attempts < 1)
		w->max_attempts = 1;
	w->backoff_ms = 500;
	w->keysets_max_age_s = 300;
}

static int
client_for(struct wallet_ctx *w, const char *url, struct mint_client *mc)
{
	if (mint_client_init(mc, w->up, url) != 0)
		return -1;
	mc->timeout_s = w->timeout_s;
	mc->connect_timeout_s = w->timeout_s < 10 ? w->timeout_s : 10;
	mc->max_attempts = w->max_attempts;
	mc->backoff_ms = w->backoff_ms;
	return 0;
}

static void op_release(struct wallet_ctx *w, int64_t id);

static int
hook(struct wallet_ctx *w, enum wallet_hook_point at, int64_t op)
{
	int stop = w->hook ? w->hook(w->hook_ud, at, op) : 0;

	/* A test stopping here plays a process that died: its operation is
	 * nobody's any more, so recovery may take it. */
	if (stop)
		op_release(w, op);
	return stop;
}

static void
proofs_free(struct cashu_proof *p, size_t n)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(p[i].secret);
		free(p[i].witness);
	}
	free(p);
}

static void
op_free(struct op_row *op)
{
	free(op->quote);
	free(op->request_id);
	proofs_free(op->in, op->nin);
	free(op->out);
	free(op->role);
	memset(op, 0, sizeof(*op));
}

/* Step a write statement to completion and reset it: 0 or -1 (logged). */
static int
exec_stmt(struct db *db, sqlite3_stmt *st)
{
	int rc = st ? sqlite3_step(st) : SQLITE_ERROR;

	if (st)
		sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_error("wallet: sql: %s", sqlite3_errmsg(db_handle(db)));
		return -1;
	}
	return 0;
}

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static void
copy_str(char *dst, size_t dstsz, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= dstsz)
		n = dstsz - 1;
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

bool
wallet_mint_trusted(const struct wallet_ctx *w, const char *url)
{
	const struct conf *c = conf_get();
	char norm[512], other[512];
	const char *const *list = w->trusted;
	size_t n = w->ntrusted, i;

	if (mint_url_normalize(url, norm, sizeof(norm)) != 0)
		return false;
	if (list == NULL && c) {
		if (mint_url_normalize(conf_str(c, CONF_PRIMARY_MINT_URL), other, sizeof(other)) == 0 &&
		    strcmp(other, norm) == 0)
			return true;
		list = conf_list(c, CONF_CASHU_MINTS, &n);
	}
	for (i = 0; list && i < n; i++)
		if (mint_url_normalize(list[i], other, sizeof(other)) == 0 && strcmp(other, norm) == 0)
			return true;
	return false;
}

/* ================================================================ pure helpers */

size_t
wallet_split(uint64_t amount, const uint64_t *denoms, size_t ndenoms, uint64_t *out, size_t max)
{
	size_t n = 0, i, j;

	for (i = ndenoms; i-- > 0 && amount > 0;) {
		if (denoms[i] == 0)
			continue;
		while (amount >= denoms[i]) {
			if (n == max)
				return (size_t)-1;
			out[n++] = denoms[i];
			amount -= denoms[i];
			if (i + 1 < ndenoms || amount < denoms[i])
				break;	/* only the largest denomination repeats */
		}
	}
	if (amount != 0)
		return (size_t)-1;
	for (i = 0, j = n ? n - 1 : 0; i < j; i++, j--) {
		uint64_t t = out[i];

		out[i] = out[j];
		out[j] = t;
	}
	return n;
}

/* Sort order for selection: amount descending, index ascending. */
struct ordc {
	uint64_t amount;
	size_t idx;
};

static int
cmp_ordc(const void *a, const void *b)
{
	const struct ordc *x = a, *y = b;

	if (x->amount != y->amount)
		return x->amount > y->amount ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int
wallet_select(const struct wallet_coin *coins, size_t n, uint64_t target, bool exact,
    size_t *chosen, size_t *nchosen, uint64_t *fee)
{
	struct ordc *o = NULL;
	size_t *ord = NULL, i, k = 0;
	uint64_t sum = 0, ppk = 0;
	int rc = -1;

	*nchosen = 0;
	*fee = 0;
	if (n == 0 || target == 0)
		return -1;
	o = xcalloc(n, sizeof(*o));
	ord = xcalloc(n, sizeof(*ord));
	for (i = 0; i < n; i++) {
		o[i].amount = coins[i].amount;
		o[i].idx = i;
	}
	qsort(o, n, sizeof(*o), cmp_ordc);
	for (i = 0; i < n; i++)
		ord[i] = o[i].idx;
	free(o);
	if (exact) {
		uint64_t rem = target;

		for (i = 0; i < n && rem > 0; i++)
			if (coins[ord[i]].amount <= rem) {
				chosen[k++] = ord[i];
				rem -= coins[ord[i]].amount;
			}
		if (rem == 0) {
			*nchosen = k;
			rc = 0;
		}
		goto out;
	}
	/* The smallest single coin that covers target plus its own fee. */
	for (i = n; i-- > 0;) {
		const struct wallet_coin *c = &coins[ord[i]];
		uint64_t f = mint_fee_from_ppk(c->fee_ppk);

		if (c->amount >= target && c->amount - target >= f) {
			chosen[0] = ord[i];
			*nchosen = 1;
			*fee = f;
			rc = 0;
			goto out;
		}
	}
	/* Else the largest coins until they cover target + fee(chosen). */
	for (i = 0; i < n; i++) {
		const struct wallet_coin *c = &coins[ord[i]];
		uint64_t f;

		if (sum > UINT64_MAX - c->amount)
			break;
		chosen[k++] = ord[i];
		sum += c->amount;
		ppk += c->fee_ppk;
		f = mint_fee_from_ppk(ppk);
		if (sum >= target && sum - target >= f) {
			*nchosen = k;
			*fee = f;
			rc = 0;
			goto out;
		}
	}
out:
	free(ord);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void
wallet_token_hash(const struct cashu_token *t, char out[65])
{
	const char **s = xcalloc(t->nproofs ? t->nproofs : 1, sizeof(*s));
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t i;

	for (i = 0; i < t->nproofs; i++)
		s[i] = t->proofs[i].secret;
	qsort(s, t->nproofs, sizeof(*s), cmp_str);
	if (ctx == NULL)
		abort();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (i = 0; i < t->nproofs; i++)
		EVP_DigestUpdate(ctx, s[i], strlen(s[i]) + 1);	/* NUL separates */
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	hex_encode(md, sizeof(md), out);
	free(s);
}

/* ================================================================ JSON of operations */

/* The inputs of an operation, as stored in mint_operations.inputs_json:
 * the same JSON the mint is sent. Caller frees. */
static char *
inputs_to_json(const struct cashu_proof *in, size_t n)
{
	struct json_object *arr = mint_proofs_json(in, n);
	char *txt = xstrdup(json_compact(arr, NULL));

	json_object_put(arr);
	return txt;
}

static char *
outputs_to_json(const struct mint_output *o, const enum role *role, size_t n)
{
	struct json_object *arr = json_object_new_array();
	char *txt;
	size_t i;

	for (i = 0; i < n; i++) {
		struct json_object *p = json_object_new_object();
		char r[65];

		hex_encode(o[i].r, sizeof(o[i].r), r);
		json_object_object_add(p, "amount", json_object_new_uint64(o[i].amount));
		json_object_object_add(p, "id", json_object_new_string(o[i].id));
		json_object_object_add(p, "B_", json_object_new_string(o[i].B_));
		json_object_object_add(p, "secret", json_object_new_string(o[i].secret));
		json_object_object_add(p, "r", json_object_new_string(r));
		json_object_object_add(p, "role", json_object_new_string(role_names[role[i]]));
		json_object_array_add(arr, p);
	}
	txt = xstrdup(json_compact(arr, NULL));
	json_object_put(arr);
	return txt;
}

/* Our own rows, read back; still checked so a damaged row fails cleanly. */
static int
inputs_from_json(const char *txt, struct cashu_proof **out, size_t *n)
{
	struct json_object *a = json_parse_strict(txt, strlen(txt), NULL);
	struct cashu_proof *p = NULL;
	size_t i, cnt = 0;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (a == NULL || !json_object_is_type(a, json_type_array))
		goto out;
	cnt = json_object_array_length(a);
	p = xcalloc(cnt ? cnt : 1, sizeof(*p));
	for (i = 0; i < cnt; i++) {
		struct json_object *o = json_object_array_get_idx(a, i);
		const char *id = json_get_str(o, "id"), *sec = json_get_str(o, "secret");
		const char *C = json_get_str(o, "C"), *wit = json_get_str(o, "witness");
		int64_t amt;

		if (id == NULL || sec == NULL || C == NULL || json_get_i64(o, "amount", &amt) != 0 ||
		    amt <= 0 || strlen(id) >= sizeof(p[i].keyset_id) || strlen(C) >= sizeof(p[i].C))
			goto out;
		p[i].amount = (uint64_t)amt;
		copy_str(p[i].keyset_id, sizeof(p[i].keyset_id), id);
		copy_str(p[i].C, sizeof(p[i].C), C);
		p[i].secret = xstrdup(sec);
		p[i].witness = wit ? xstrdup(wit) : NULL;
	}
	*out = p;
	*n = cnt;
	p = NULL;
	rc = 0;
out:
	proofs_free(p, cnt);
	json_object_put(a);
	return rc;
}

static int
outputs_from_json(const char *txt, struct mint_output **out, enum role **role, size_t *n)
{
	struct json_object *a = json_parse_strict(txt, strlen(txt), NULL);
	struct mint_output *o = NULL;
	enum role *r = NULL;
	size_t i, cnt;
	int rc = -1;

	*out = NULL;
	*role = NULL;
	*n = 0;
	if (a == NULL || !json_object_is_type(a, json_type_array))
		goto out;
	cnt = json_object_array_length(a);
	o = xcalloc(cnt ? cnt : 1, sizeof(*o));
	r = xcalloc(cnt ? cnt : 1, sizeof(*r));
	for (i = 0; i < cnt; i++) {
		struct json_object *j = json_object_array_get_idx(a, i);
		const char *id = json_get_str(j, "id"), *B = json_get_str(j, "B_");
		const char *sec = json_get_str(j, "secret"), *rr = json_get_str(j, "r");
		const char *ro = json_get_str(j, "role");
		int64_t amt;
		int k;

		if (id == NULL || B == NULL || sec == NULL || rr == NULL || ro == NULL ||
		    json_get_i64(j, "amount", &amt) != 0 || amt <= 0 ||
		    strlen(id) >= sizeof(o[i].id) || strlen(B) != 66 || strlen(sec) != 64 ||
		    hex_decode(rr, strlen(rr), o[i].r, sizeof(o[i].r)) != 0)
			goto out;
		for (k = 0; k < ROLE__MAX && strcmp(ro, role_names[k]) != 0; k++)
			;
		if (k == ROLE__MAX)
			goto out;
		o[i].amount = (uint64_t)amt;
		copy_str(o[i].id, sizeof(o[i].id), id);
		copy_str(o[i].B_, sizeof(o[i].B_), B);
		copy_str(o[i].secret, sizeof(o[i].secret), sec);
		r[i] = (enum role)k;
	}
	*out = o;
	*role = r;
	*n = cnt;
	o = NULL;
	r = NULL;
	rc = 0;
out:
	free(o);
	free(r);
	json_object_put(a);
	return rc;
}

/* ================================================================ keysets */

static const char SQL_MINT_UPSERT[] =
    "INSERT INTO mints (url, trusted, is_primary, unit, keysets_fetched_at, last_contact_at, created_at)"
    " VALUES (?1, ?2, ?3, 'sat', ?4, ?4, ?4)"
    " ON CONFLICT(url) DO UPDATE SET trusted = excluded.trusted, is_primary = excluded.is_primary,"
    " keysets_fetched_at = excluded.keysets_fetched_at, last_contact_at = excluded.last_contact_at";
static const char SQL_MINT_FETCHED[] =
    "SELECT keysets_fetched_at FROM mints WHERE url = ?";
static const char SQL_KEYSET_UPSERT[] =
    "INSERT INTO keysets (mint_url, id, short_id, unit, active, input_fee_ppk, final_expiry, keys_json, fetched_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8)"
    " ON CONFLICT(mint_url, id) DO UPDATE SET unit = excluded.unit, active = excluded.active,"
    " input_fee_ppk = excluded.input_fee_ppk, final_expiry = excluded.final_expiry,"
    " fetched_at = excluded.fetched_at";
static const char SQL_KEYSET_NOKEYS[] =
    "SELECT id FROM keysets WHERE mint_url = ? AND keys_json IS NULL ORDER BY active DESC LIMIT 32";
static const char SQL_KEYSET_INSERT_KEYS[] =
    "INSERT INTO keysets (mint_url, id, short_id, unit, active, input_fee_ppk, final_expiry, keys_json, fetched_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    " ON CONFLICT(mint_url, id) DO UPDATE SET keys_json = excluded.keys_json";
static const char SQL_KEYSETS_OF[] =
    "SELECT id, unit, active, input_fee_ppk, coalesce(final_expiry, 0), keys_json"
    " FROM keysets WHERE mint_url = ? ORDER BY active DESC, id";

static bool
is_primary(const char *url)
{
	const struct conf *c = conf_get();
	char p[512];

	return c && mint_url_normalize(conf_str(c, CONF_PRIMARY_MINT_URL), p, sizeof(p)) == 0 &&
	    strcmp(p, url) == 0;
}

/* Store one keyset with its verified keys (creates the mint row if needed). */
static enum mint_err
store_keys(struct wallet_ctx *w, const char *url, const struct mint_keyset *ks, struct mint_error *e)
{
	sqlite3_stmt *st;
	char *keys = mint_keys_to_json(ks);
	char shortid[17];
	enum mint_err rc = MINT_E_DB;

	copy_str(shortid, sizeof(shortid), ks->id);
	st = db_stmt(w->db, SQL_MINT_UPSERT);
	if (st == NULL)
		goto out;
	sqlite3_bind_text(st, 1, url, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, wallet_mint_trusted(w, url));
	sqlite3_bind_int(st, 3, is_primary(url));
	sqlite3_bind_int64(st, 4, wall_sec());
	if (exec_stmt(w->db, st) != 0)
		goto out;
	st = db_stmt(w->db, SQL_KEYSET_INSERT_KEYS);
	if (st == NULL)
		goto out;
	sqlite3_bind_text(st, 1, url, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, ks->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, shortid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, ks->unit, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 5, ks->active);
	sqlite3_bind_int64(st, 6, (int64_t)ks->input_fee_ppk);
	if (ks->final_expiry > 0)
		sqlite3_bind_int64(st, 7, ks->final_expiry);
	sqlite3_bind_text(st, 8, keys, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 9, wall_sec());
	if (exec_stmt(w->db, st) != 0)
		goto out;
	rc = MINT_OK;
out:
	if (rc != MINT_OK)
		mint_error_set(e, rc, "cannot store keyset %s", ks->id);
	free(keys);
	return rc;
}

/* GET /v1/keys/{id} and cache the verified keys. */
static enum mint_err
fetch_keys(struct wallet_ctx *w, struct mint_client *mc, const char *id, struct mint_error *e)
{
	struct mint_keyset *ks = NULL;
	size_t n = 0;
	enum mint_err rc;

	rc = mint_get_keys(mc, id, &ks, &n, e);
	if (rc == MINT_OK)
		rc = store_keys(w, mc->url, &ks[0], e);
	mint_keysets_free(ks, n);
	return rc;
}

enum mint_err
wallet_refresh_keysets(struct wallet_ctx *w, const char *mint_url, bool force, struct mint_error *e)
{
	struct mint_client mc;
	struct mint_keyset *ks = NULL;
	sqlite3_stmt *st;
	char ids[WALLET_KEYS_FETCH_MAX][67];
	size_t n = 0, i, nids = 0;
	int64_t now = wall_sec();
	enum mint_err rc;

	if (client_for(w, mint_url, &mc) != 0)
		return mint_error_set(e, MINT_E_INVALID, "bad mint URL");
	if (!force && (st = db_stmt(w->db, SQL_MINT_FETCHED)) != NULL) {
		int64_t at = -1;

		sqlite3_bind_text(st, 1, mc.url, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
			at = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		if (at >= 0 && now - at < w->keysets_max_age_s)
			return MINT_OK;
	}
	rc = mint_get_keysets(&mc, &ks, &n, e);
	if (rc != MINT_OK)
		return rc;
	if (db_begin(w->db) != RERR_OK) {
		mint_keysets_free(ks, n);
		return mint_error_set(e, MINT_E_DB, "cannot begin");
	}
	rc = MINT_E_DB;
	st = db_stmt(w->db, SQL_MINT_UPSERT);
	if (st == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, mc.url, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, wallet_mint_trusted(w, mc.url));
	sqlite3_bind_int(st, 3, is_primary(mc.url));
	sqlite3_bind_int64(st, 4, now);
	if (exec_stmt(w->db, st) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		char shortid[17];

		copy_str(shortid, sizeof(shortid), ks[i].id);
		if ((st = db_stmt(w->db, SQL_KEYSET_UPSERT)) == NULL)
			goto fail;
		sqlite3_bind_text(st, 1, mc.url, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, ks[i].id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, shortid, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, ks[i].unit, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 5, ks[i].active);
		sqlite3_bind_int64(st, 6, (int64_t)ks[i].input_fee_ppk);
		if (ks[i].final_expiry > 0)
			sqlite3_bind_int64(st, 7, ks[i].final_expiry);
		sqlite3_bind_int64(st, 8, now);
		if (exec_stmt(w->db, st) != 0)
			goto fail;
	}
	if (db_commit(w->db) != RERR_OK)
		goto fail;
	mint_keysets_free(ks, n);
	ks = NULL;

	/* Keys of keysets not cached yet; they never change for an id. */
	if ((st = db_stmt(w->db, SQL_KEYSET_NOKEYS)) == NULL)
		return mint_error_set(e, MINT_E_DB, "cannot list keysets");
	sqlite3_bind_text(st, 1, mc.url, -1, SQLITE_TRANSIENT);
	while (nids < WALLET_KEYS_FETCH_MAX && sqlite3_step(st) == SQLITE_ROW)
		copy_str(ids[nids++], sizeof(ids[0]), (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	for (i = 0; i < nids; i++) {
		struct mint_error ke = { 0 };

		if (fetch_keys(w, &mc, ids[i], &ke) != MINT_OK)
			log_warn("wallet: keys of keyset %s at %s: %s: %s", ids[i], mc.url,
			    mint_err_name(ke.kind), ke.detail);
	}
	return MINT_OK;
fail:
	db_rollback(w->db);
	mint_keysets_free(ks, n);
	return mint_error_set(e, rc, "cannot store keysets of %s", mc.url);
}

enum mint_err
wallet_keysets(struct wallet_ctx *w, const char *mint_url, struct mint_keyset **out, size_t *n,
    struct mint_error *e)
{
	sqlite3_stmt *st = db_stmt(w->db, SQL_KEYSETS_OF);
	struct mint_keyset *ks = NULL;
	size_t cnt = 0, cap = 0;
	int src;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return mint_error_set(e, MINT_E_DB, "cannot read keysets");
	sqlite3_bind_text(st, 1, mint_url, -1, SQLITE_TRANSIENT);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct mint_keyset *k;
		const char *keys = (const char *)sqlite3_column_text(st, 5);

		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			ks = xrealloc(ks, cap * sizeof(*ks));
		}
		k = &ks[cnt++];
		memset(k, 0, sizeof(*k));
		copy_str(k->id, sizeof(k->id), (const char *)sqlite3_column_text(st, 0));
		copy_str(k->unit, sizeof(k->unit), (const char *)sqlite3_column_text(st, 1));
		k->active = sqlite3_column_int(st, 2) != 0;
		k->input_fee_ppk = (uint64_t)sqlite3_column_int64(st, 3);
		k->final_expiry = sqlite3_column_int64(st, 4);
		if (keys && mint_keys_from_json(keys, k, NULL) != MINT_OK)
			log_error("wallet: cached keys of %s are damaged", k->id);
	}
	sqlite3_reset(st);
	if (src != SQLITE_DONE) {
		mint_keysets_free(ks, cnt);
		return mint_error_set(e, MINT_E_DB, "cannot read keysets");
	}
	*out = ks;
	*n = cnt;
	return MINT_OK;
}

/* The keysets of one mint, cached in memory for one operation. */
struct wmint {
	struct mint_keyset *ks;
	size_t n;
};

static void
wmint_free(struct wmint *m)
{
	mint_keysets_free(m->ks, m->n);
	m->ks = NULL;
	m->n = 0;
}

static struct mint_keyset *
wmint_find(struct wmint *m, const char *id)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->ks[i].id, id) == 0)
			return &m->ks[i];
	return NULL;
}

/* The active keyset with keys for unit, lowest fee first. */
static struct mint_keyset *
wmint_active(struct wmint *m, const char *unit)
{
	struct mint_keyset *best = NULL;
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->ks[i].active && m->ks[i].keys && strcmp(m->ks[i].unit, unit) == 0 &&
		    (best == NULL || m->ks[i].input_fee_ppk < best->input_fee_ppk))
			best = &m->ks[i];
	return best;
}

/* Refresh (unless fresh) and load. When the mint cannot be asked, a
 * cache that holds keysets is used as it is (keys never change for an id;
 * only active flags and fees may be stale), so sending exact proofs still
 * works while a mint is down. */
static enum mint_err
wmint_prepare(struct wallet_ctx *w, const char *url, bool force, struct wmint *m,
    struct mint_error *e)
{
	struct mint_error re = { 0 };
	enum mint_err rc = wallet_refresh_keysets(w, url, force, &re);

	memset(m, 0, sizeof(*m));
	if (rc != MINT_OK && !mint_err_transient(rc)) {
		if (e)
			*e = re;
		return rc;
	}
	if (wallet_keysets(w, url, &m->ks, &m->n, e) != MINT_OK)
		return MINT_E_DB;
	if (rc != MINT_OK && m->n == 0) {
		if (e)
			*e = re;
		return rc;
	}
	if (rc != MINT_OK)
		log_info("wallet: %s: using cached keysets (%s)", url, re.detail);
	return MINT_OK;
}

/* Make sure ks has keys: fetch them once when the cache lacks them. */
static enum mint_err
wmint_need_keys(struct wallet_ctx *w, struct mint_client *mc, struct mint_keyset *ks,
    struct mint_error *e)
{
	struct mint_keyset *got = NULL;
	size_t n = 0;
	enum mint_err rc;

	if (ks->keys)
		return MINT_OK;
	rc = mint_get_keys(mc, ks->id, &got, &n, e);
	if (rc != MINT_OK)
		return rc;
	rc = store_keys(w, mc->url, &got[0], e);
	if (rc == MINT_OK) {
		ks->keys = got[0].keys;
		ks->nkeys = got[0].nkeys;
		got[0].keys = NULL;
	}
	mint_keysets_free(got, n);
	return rc;
}

/* Output amounts for value with the keyset's denominations. */
static size_t
split_for(const struct mint_keyset *ks, uint64_t value, uint64_t *out, size_t max)
{
	uint64_t d[64];
	size_t i, n = ks->nkeys < 64 ? ks->nkeys : 64;

	for (i = 0; i < n; i++)
		d[i] = ks->keys[i].amount;
	return wallet_split(value, d, n, out, max);
}

/* ================================================================ operation log */

static const char SQL_OP_INSERT[] =
    "INSERT INTO mint_operations (kind, purpose, mint_url, unit, state, inputs_json, outputs_json,"
    " quote, amount, fee, token_hash, request_id, created_at, updated_at, api_key_hash, source,"
    " fund_ref, owner)"
    " VALUES (?1, ?2, ?3, ?4, 'prepared', ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, ?14, ?15,"
    " ?16)";
static const char SQL_OP_SENT[] =
    "UPDATE mint_operations SET state = 'sent', updated_at = ?2 WHERE id = ?1 AND state = 'prepared'";
static const char SQL_OP_DONE[] =
    "UPDATE mint_operations SET state = 'done', error = NULL, updated_at = ?2"
    " WHERE id = ?1 AND state IN ('prepared', 'sent', 'failed')";
static const char SQL_OP_FAIL[] =
    "UPDATE mint_operations SET state = 'failed', error = ?2, updated_at = ?3"
    " WHERE id = ?1 AND state IN ('prepared', 'sent')";
static const char SQL_OP_TOUCH[] =
    "UPDATE mint_operations SET error = ?2, updated_at = ?3 WHERE id = ?1";
static const char SQL_OP_GET[] =
    "SELECT id, kind, purpose, state, mint_url, unit, quote, request_id, inputs_json, outputs_json,"
    " amount, fee, updated_at, api_key_hash, source, fund_ref FROM mint_operations WHERE id = ?";
/* Open operations, optionally only those of one token or one withdrawal. */
static const char SQL_OP_OPEN[] =
    "SELECT id, owner FROM mint_operations WHERE state IN ('prepared', 'sent') AND updated_at <= ?1"
    " AND (?2 IS NULL OR token_hash = ?2) AND (?3 IS NULL OR fund_ref = ?3)"
    " AND (?4 IS NULL OR api_key_hash = ?4) AND (?5 IS NULL OR quote = ?5) ORDER BY id LIMIT 1000";
static const char SQL_OP_RELEASE[] =
    "UPDATE mint_operations SET owner = NULL WHERE id = ?";
static const char SQL_PROOF_INSERT[] =
    "INSERT OR IGNORE INTO wallet_proofs (mint_url, keyset_id, amount, secret, C, Y, unit, state,"
    " operation_id, origin_operation_id, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)";
static const char SQL_PROOFS_SPEND_OP[] =
    "UPDATE wallet_proofs SET state = 'spent', updated_at = ?2 WHERE operation_id = ?1 AND state = 'pending'";
static const char SQL_PROOFS_RELEASE_OP[] =
    "UPDATE wallet_proofs SET state = 'unspent', operation_id = NULL, updated_at = ?2"
    " WHERE operation_id = ?1 AND state = 'pending'";
static const char SQL_PROOF_HOLD[] =
    "UPDATE wallet_proofs SET state = ?2, operation_id = ?3, updated_at = ?4 WHERE id = ?1 AND state = 'unspent'";
static const char SQL_PROOFS_UNSPENT[] =
    "SELECT id, keyset_id, amount, secret, C FROM wallet_proofs"
    " WHERE mint_url = ? AND unit = ? AND state = 'unspent' ORDER BY amount DESC, id LIMIT 5000";
static const char SQL_TX_INSERT[] =
    "INSERT INTO cashu_transactions (direction, token, token_hash, amount, fee, unit, mint_url,"
    " request_id, api_key_hash, source, operation_id, created_at, fund_ref)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
static const char SQL_TX_IN_BY_HASH[] =
    "SELECT id, amount, fee, unit, mint_url, operation_id, api_key_hash, source"
    " FROM cashu_transactions WHERE direction = 'in' AND token_hash = ?";

/* Insert a 'prepared' row; inside the caller's transaction. Returns the id or 0. */
static int64_t
op_insert(struct wallet_ctx *w, const char *kind, const char *purpose, const char *mint,
    const char *unit, const struct cashu_proof *in, size_t nin, const struct mint_output *out,
    const enum role *role, size_t nout, const char *quote, uint64_t amount, uint64_t fee,
    const char *token_hash, const struct wallet_meta *meta)
{
	sqlite3_stmt *st = db_stmt(w->db, SQL_OP_INSERT);
	char *ij = inputs_to_json(in, nin), *oj = outputs_to_json(out, role, nout);
	char owner[OWNER_TAG_MAX];
	int64_t id = 0;

	if (owner_self_tag(owner) != 0)
		owner[0] = '\0';
	if (st) {
		sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, purpose, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, mint, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, unit, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 5, ij, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 6, oj, -1, SQLITE_TRANSIENT);
		bind_text(st, 7, quote);
		sqlite3_bind_int64(st, 8, (int64_t)amount);
		sqlite3_bind_int64(st, 9, (int64_t)fee);
		bind_text(st, 10, token_hash);
		bind_text(st, 11, meta ? meta->request_id : NULL);
		sqlite3_bind_int64(st, 12, wall_sec());
		bind_text(st, 13, meta ? meta->api_key_hash : NULL);
		bind_text(st, 14, meta ? meta->source : NULL);
		bind_text(st, 15, meta ? meta->fund_ref : NULL);
		bind_text(st, 16, owner[0] ? owner : NULL);
		if (exec_stmt(w->db, st) == 0)
			id = sqlite3_last_insert_rowid(db_handle(w->db));
	}
	free(ij);
	free(oj);
	return id;
}

/* One-statement transition in its own transaction; 0 when one row changed. */
static int
op_mark_sent(struct wallet_ctx *w, int64_t id)
{
	sqlite3_stmt *st;

	if (db_begin(w->db) != RERR_OK)
		return -1;
	st = db_stmt(w->db, SQL_OP_SENT);
	if (st == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, wall_sec());
	if (exec_stmt(w->db, st) != 0 || sqlite3_changes(db_handle(w->db)) != 1)
		goto fail;
	if (db_commit(w->db) != RERR_OK)
		goto fail;
	return 0;
fail:
	db_rollback(w->db);
	return -1;
}

static int op_fail(struct wallet_ctx *w, int64_t id, bool spent_inputs, const char *why);

/* Move a committed 'prepared' operation to 'sent' (committed) with the
 * test hooks around it. MINT_OK: go ahead and send. */
static enum mint_err
op_start(struct wallet_ctx *w, int64_t op_id, struct mint_error *e)
{
	if (hook(w, WALLET_HOOK_PREPARED, op_id))
		return mint_error_set(e, MINT_E_INTERRUPTED, "stopped before sending operation %lld",
		    (long long)op_id);
	if (op_mark_sent(w, op_id) != 0) {
		op_fail(w, op_id, false, "cannot mark the operation sent");
		return mint_error_set(e, MINT_E_DB, "cannot mark operation %lld sent", (long long)op_id);
	}
	if (hook(w, WALLET_HOOK_SENT, op_id))
		return mint_error_set(e, MINT_E_INTERRUPTED, "stopped before sending operation %lld",
		    (long long)op_id);
	return MINT_OK;
}

/* Mark an operation failed and release (or, spent_inputs, spend) the
 * proofs it holds, in one transaction. */
static int
op_fail(struct wallet_ctx *w, int64_t id, bool spent_inputs, const char *why)
{
	sqlite3_stmt *st;
	int64_t now = wall_sec();

	if (db_begin(w->db) != RERR_OK)
		return -1;
	if ((st = db_stmt(w->db, SQL_OP_FAIL)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, why, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, now);
	if (exec_stmt(w->db, st) != 0)
		goto fail;
	if ((st = db_stmt(w->db, spent_inputs ? SQL_PROOFS_SPEND_OP : SQL_PROOFS_RELEASE_OP)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	if (exec_stmt(w->db, st) != 0)
		goto fail;
	if (db_commit(w->db) != RERR_OK)
		goto fail;
	log_info("wallet: operation %lld failed: %s", (long long)id, why);
	return 0;
fail:
	db_rollback(w->db);
	return -1;
}

/* The runner gives an open operation up to recovery (autocommit, best
 * effort): from now on anyone may resolve it. */
static void
op_release(struct wallet_ctx *w, int64_t id)
{
	sqlite3_stmt *st = db_stmt(w->db, SQL_OP_RELEASE);

	if (st == NULL)
		return;
	sqlite3_bind_int64(st, 1, id);
	exec_stmt(w->db, st);
}

/* Record why an operation is still open (autocommit, best effort). */
static void
op_note(struct wallet_ctx *w, int64_t id, const char *why)
{
	sqlite3_stmt *st = db_stmt(w->db, SQL_OP_TOUCH);

	if (st == NULL)
		return;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, why, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, wall_sec());
	exec_stmt(w->db, st);
}

static int
op_load(struct wallet_ctx *w, int64_t id, struct op_row *op)
{
	sqlite3_stmt *st = db_stmt(w->db, SQL_OP_GET);
	int rc = -1;

	memset(op, 0, sizeof(*op));
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *q = (const char *)sqlite3_column_text(st, 6);
		const char *rid = (const char *)sqlite3_column_text(st, 7);

		op->id = sqlite3_column_int64(st, 0);
		copy_str(op->kind, sizeof(op->kind), (const char *)sqlite3_column_text(st, 1));
		copy_str(op->purpose, sizeof(op->purpose), (const char *)sqlite3_column_text(st, 2));
		copy_str(op->state, sizeof(op->state), (const char *)sqlite3_column_text(st, 3));
		copy_str(op->mint, sizeof(op->mint), (const char *)sqlite3_column_text(st, 4));
		copy_str(op->unit, sizeof(op->unit), (const char *)sqlite3_column_text(st, 5));
		op->quote = q ? xstrdup(q) : NULL;
		op->request_id = rid ? xstrdup(rid) : NULL;
		op->amount = (uint64_t)sqlite3_column_int64(st, 10);
		op->fee = (uint64_t)sqlite3_column_int64(st, 11);
		op->updated_at = sqlite3_column_int64(st, 12);
		copy_str(op->api_key_hash, sizeof(op->api_key_hash),
		    (const char *)sqlite3_column_text(st, 13));
		copy_str(op->source, sizeof(op->source), (const char *)sqlite3_column_text(st, 14));
		copy_str(op->fund_ref, sizeof(op->fund_ref), (const char *)sqlite3_column_text(st, 15));
		if (inputs_from_json((const char *)sqlite3_column_text(st, 8), &op->in, &op->nin) == 0 &&
		    outputs_from_json((const char *)sqlite3_column_text(st, 9), &op->out, &op->role,
		    &op->nout) == 0)
			rc = 0;
		else
			log_error("wallet: operation %lld has damaged inputs or outputs", (long long)id);
	}
	sqlite3_reset(st);
	if (rc != 0)
		op_free(op);
	return rc;
}

/* Insert a proof row; inside the caller's transaction. */
static int
proof_insert(struct wallet_ctx *w, const char *mint, const char *unit, const struct cashu_proof *p,
    const char *state, int64_t holder_op, int64_t origin_op)
{
	sqlite3_stmt *st = db_stmt(w->db, SQL_PROOF_INSERT);
	char Y[67];

	if (st == NULL || mint_proof_y(p->secret, Y) != 0)
		return -1;
	sqlite3_bind_text(st, 1, mint, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, p->keyset_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, (int64_t)p->amount);
	sqlite3_bind_text(st, 4, p->secret, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, p->C, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, Y, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 7, unit, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 8, state, -1, SQLITE_STATIC);
	if (holder_op)
		sqlite3_bind_int64(st, 9, holder_op);
	if (origin_op)
		sqlite3_bind_int64(st, 10, origin_op);
	sqlite3_bind_int64(st, 11, wall_sec());
	return exec_stmt(w->db, st);
}

/* Inside the caller's transaction: mark the operation done and spend the
 * proofs it held. */
static int
op_done_tx(struct wallet_ctx *w, int64_t id)
{
	sqlite3_stmt *st = db_stmt(w->db, SQL_OP_DONE);
	int64_t now = wall_sec();

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	if (exec_stmt(w->db, st) != 0)
		return -1;
	if ((st = db_stmt(w->db, SQL_PROOFS_SPEND_OP)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	return exec_stmt(w->db, st);
}

static int64_t
tx_insert(struct wallet_ctx *w, const char *dir, const char *token, const char *hash,
    uint64_t amount, uint64_t fee, const char *unit, const char *mint,
    const struct wallet_meta *meta, const char *source, int64_t op)
{
	sqlite3_stmt *st = db_stmt(w->db, SQL_TX_INSERT);

	if (st == NULL)
		return 0;
	sqlite3_bind_text(st, 1, dir, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, token, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, (int64_t)amount);
	sqlite3_bind_int64(st, 5, (int64_t)fee);
	sqlite3_bind_text(st, 6, unit, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 7, mint, -1, SQLITE_TRANSIENT);
	bind_text(st, 8, meta ? meta->request_id : NULL);
	bind_text(st, 9, meta ? meta->api_key_hash : NULL);
	bind_text(st, 10, meta && meta->source ? meta->source : source);
	if (op)
		sqlite3_bind_int64(st, 11, op);
	sqlite3_bind_int64(st, 12, wall_sec());
	bind_text(st, 13, meta ? meta->fund_ref : NULL);
	if (exec_stmt(w->db, st) != 0)
		return 0;
	return sqlite3_last_insert_rowid(db_handle(w->db));
}

/* Look up an earlier redemption of the same proofs. 1 found, 0 not, -1 error. */
static int
tx_find_in(struct wallet_ctx *w, const char *hash, struct wallet_receipt *r)
{
	sqlite3_stmt *st = db_stmt(w->db, SQL_TX_IN_BY_HASH);
	int rc = 0, s;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		r->tx_id = sqlite3_column_int64(st, 0);
		r->amount = (uint64_t)sqlite3_column_int64(st, 1);
		r->fee = (uint64_t)sqlite3_column_int64(st, 2);
		r->credited = r->amount - r->fee;
		copy_str(r->unit, sizeof(r->unit), (const char *)sqlite3_column_text(st, 3));
		copy_str(r->mint, sizeof(r->mint), (const char *)sqlite3_column_text(st, 4));
		r->op_id = sqlite3_column_int64(st, 5);
		copy_str(r->api_key_hash, sizeof(r->api_key_hash),
		    (const char *)sqlite3_column_text(st, 6));
		copy_str(r->source, sizeof(r->source), (const char *)sqlite3_column_text(st, 7));
		rc = 1;
	} else if (s != SQLITE_DONE) {
		rc = -1;
	}
	sqlite3_reset(st);
	return rc;
}

/* Unblind sigs (present ones) for outs into proofs[] (owned by the caller,
 * free with proofs_free); fills *nproofs. */
static enum mint_err
unblind_all(struct wallet_ctx *w, struct mint_client *mc, struct wmint *m,
    const struct mint_output *outs, const struct mint_sig *sigs, size_t n,
    struct cashu_proof **proofs, size_t *idx, size_t *nproofs, struct mint_error *e)
{
	struct cashu_proof *p = xcalloc(n ? n : 1, sizeof(*p));
	size_t i, k = 0;
	enum mint_err rc = MINT_OK;

	for (i = 0; i < n; i++) {
		struct mint_keyset *ks;

		if (!sigs[i].present)
			continue;
		ks = wmint_find(m, sigs[i].id);
		if (ks == NULL) {
			rc = mint_error_set(e, MINT_E_PROTOCOL, "signature for unknown keyset %s", sigs[i].id);
			break;
		}
		if ((rc = wmint_need_keys(w, mc, ks, e)) != MINT_OK)
			break;
		rc = mint_unblind(ks, &outs[i], &sigs[i], w->require_dleq, &p[k], e);
		if (rc != MINT_OK)
			break;
		idx[k++] = i;
	}
	if (rc != MINT_OK) {
		proofs_free(p, k);
		return rc;
	}
	*proofs = p;
	*nproofs = k;
	return MINT_OK;
}

/* ================================================================ resolution */

enum resolution { RES_DONE, RES_FAILED, RES_OPEN };

/* Build a V4 token from proofs (borrowed) for the records. Caller frees. */
static char *
encode_token(const char *mint, const char *unit, struct cashu_proof *p, size_t n)
{
	struct cashu_token t;
	size_t i;

	memset(&t, 0, sizeof(t));
	t.mint = (char *)mint;
	copy_str(t.unit, sizeof(t.unit), unit);
	t.proofs = p;
	t.nproofs = n;
	t.version = 4;
	for (i = 0; i < n; i++) {
		copy_str(p[i].mint, sizeof(p[i].mint), mint);
		t.total += p[i].amount;
	}
	return cashu_token_encode_v4(&t);
}

/* Store the result of a finished operation in one transaction: outputs as
 * unspent proofs, held inputs spent, the row 'done', and for receives the
 * 'in' transaction. *tx_id gets that row. */
static enum mint_err
store_result(struct wallet_ctx *w, const struct op_row *op, const struct cashu_proof *proofs,
    const size_t *idx, size_t n, const struct wallet_meta *meta, const char *token_text,
    const char *token_hash, int64_t *tx_id, struct mint_error *e)
{
	size_t i;
	char *tok = NULL;
	struct wallet_meta own;

	if (tx_id)
		*tx_id = 0;
	/* Recovery has no request: the operation row names who it was for. */
	if (meta == NULL) {
		own.request_id = op->request_id;
		own.api_key_hash = op->api_key_hash[0] ? op->api_key_hash : NULL;
		own.source = op->source[0] ? op->source : NULL;
		own.fund_ref = op->fund_ref[0] ? op->fund_ref : NULL;
		own.units = NULL;
		meta = &own;
	}
	if (strcmp(op->purpose, "receive") == 0 && token_text == NULL)
		tok = encode_token(op->mint, op->unit, op->in, op->nin);
	if (db_begin(w->db) != RERR_OK)
		goto fail_nb;
	/* Outputs meant for a token (role send) are kept too: when this runs,
	 * no token was handed out. */
	(void)idx;
	for (i = 0; i < n; i++)
		if (proof_insert(w, op->mint, op->unit, &proofs[i], "unspent", 0, op->id) != 0)
			goto fail;
	if (op_done_tx(w, op->id) != 0)
		goto fail;
	if (strcmp(op->purpose, "receive") == 0) {
		char hash[65];
		struct cashu_token t;
		struct wallet_receipt prev;
		int found;

		if (token_hash == NULL) {
			memset(&t, 0, sizeof(t));
			t.proofs = op->in;
			t.nproofs = op->nin;
			wallet_token_hash(&t, hash);
			token_hash = hash;
		}
		found = tx_find_in(w, token_hash, &prev);
		if (found < 0)
			goto fail;
		if (found == 0) {
			int64_t id = tx_insert(w, "in", token_text ? token_text : (tok ? tok : ""),
			    token_hash, op->amount, op->fee, op->unit, op->mint, meta,
			    token_text ? "receive" : "recovery", op->id);

			if (id == 0)
				goto fail;
			if (tx_id)
				*tx_id = id;
		} else if (tx_id) {
			*tx_id = prev.tx_id;
		}
	}
	if (db_commit(w->db) != RERR_OK)
		goto fail;
	free(tok);
	return MINT_OK;
fail:
	db_rollback(w->db);
fail_nb:
	free(tok);
	log_error("wallet: cannot store the result of operation %lld", (long long)op->id);
	return mint_error_set(e, MINT_E_DB, "cannot store the result of operation %lld",
	    (long long)op->id);
}

/* Settle an operation whose outcome is unknown: checkstate on its inputs,
 * restore on its outputs. *why gets the reason for RES_FAILED (MINT_E_SPENT
 * when the inputs were spent by someone else) or RES_OPEN. */
static enum resolution
resolve_op(struct wallet_ctx *w, const struct op_row *op, const struct wallet_meta *meta,
    const char *token_text, const char *token_hash, int64_t *tx_id, enum mint_err *why,
    struct mint_error *e)
{
	struct mint_client mc;
	struct wmint m = { 0 };
	enum mint_proof_state *states = NULL;
	struct mint_sig *sigs = NULL;
	struct cashu_proof *proofs = NULL;
	size_t *idx = NULL, nproofs = 0, i, nsig = 0;
	char (*Y)[67] = NULL;
	const char **ys = NULL;
	bool spent = false, pending = false;
	enum resolution res = RES_OPEN;
	enum mint_err rc;

	*why = MINT_OK;
	if (strcmp(op->state, "prepared") == 0) {
		/* Never sent: nothing can have happened at the mint. */
		if (op_fail(w, op->id, false, "never sent (rolled back by recovery)") != 0)
			return RES_OPEN;
		*why = MINT_E_INTERRUPTED;
		return RES_FAILED;
	}
	if (client_for(w, op->mint, &mc) != 0) {
		*why = mint_error_set(e, MINT_E_INVALID, "bad mint URL in operation");
		return RES_OPEN;
	}
	if ((rc = wallet_keysets(w, op->mint, &m.ks, &m.n, e)) != MINT_OK) {
		*why = rc;
		return RES_OPEN;
	}
	if (op->nin > 0) {
		Y = xcalloc(op->nin, sizeof(*Y));
		ys = xcalloc(op->nin, sizeof(*ys));
		states = xcalloc(op->nin, sizeof(*states));
		for (i = 0; i < op->nin; i++) {
			if (mint_proof_y(op->in[i].secret, Y[i]) != 0) {
				*why = mint_error_set(e, MINT_E_INVALID, "bad input secret");
				goto out;
			}
			ys[i] = Y[i];
		}
		rc = mint_checkstate(&mc, ys, op->nin, states, e);
		if (rc != MINT_OK) {
			*why = rc;
			goto out;
		}
		for (i = 0; i < op->nin; i++) {
			spent |= states[i] == MINT_STATE_SPENT;
			pending |= states[i] == MINT_STATE_PENDING;
		}
	}
	if (op->nout > 0) {
		sigs = xcalloc(op->nout, sizeof(*sigs));
		rc = mint_restore(&mc, op->out, op->nout, sigs, e);
		if (rc != MINT_OK) {
			*why = rc;
			goto out;
		}
		for (i = 0; i < op->nout; i++)
			nsig += sigs[i].present;
	}
	if (nsig > 0) {
		idx = xcalloc(op->nout, sizeof(*idx));
		rc = unblind_all(w, &mc, &m, op->out, sigs, op->nout, &proofs, idx, &nproofs, e);
		if (rc != MINT_OK) {
			/* The mint signed something we cannot use: keep the
			 * inputs frozen (pending) and tell the operator. */
			*why = rc;
			op_note(w, op->id, e ? e->detail : "cannot unblind restored signatures");
			goto out;
		}
		if (store_result(w, op, proofs, idx, nproofs, meta, token_text, token_hash, tx_id,
		    e) != MINT_OK) {
			*why = MINT_E_DB;
			goto out;
		}
		res = RES_DONE;
	} else if (pending) {
		*why = mint_error_set(e, MINT_E_PENDING, "inputs are pending at the mint");
	} else if (spent && strcmp(op->kind, "melt") == 0) {
		/* Paid without change. */
		if (store_result(w, op, NULL, NULL, 0, meta, NULL, NULL, NULL, e) == MINT_OK)
			res = RES_DONE;
	} else if (spent) {
		*why = mint_error_set(e, MINT_E_SPENT, "inputs were spent, not by this operation");
		if (op_fail(w, op->id, true, "inputs spent elsewhere") == 0)
			res = RES_FAILED;
	} else {
		/* Inputs unspent (or none) and nothing signed: it never happened. */
		*why = MINT_E_UNREACHABLE;
		if (op_fail(w, op->id, false, "not processed by the mint") == 0)
			res = RES_FAILED;
	}
out:
	proofs_free(proofs, nproofs);
	free(idx);
	free(sigs);
	free(states);
	free(ys);
	free(Y);
	wmint_free(&m);
	return res;
}

/* After a failed swap/mint/melt call: a definitive answer fails the
 * operation (inputs released); an unknown outcome is resolved at once if
 * the mint answers, else left 'sent' for wallet_recover. Returns MINT_OK
 * when resolution found the operation done. */
static enum mint_err
after_failure(struct wallet_ctx *w, int64_t op_id, enum mint_err kind, struct mint_error *me,
    const struct wallet_meta *meta, const char *token_text, const char *token_hash,
    int64_t *tx_id)
{
	struct op_row op;
	struct mint_error re = { 0 };
	enum mint_err why;
	enum resolution res;

	/* Answers that a repeat of our own request would also get ("spent",
	 * "outputs signed", "issued", "paid") are ambiguous even when we sent
	 * once: libcurl silently re-sends a request whose reused connection
	 * died before the answer, so the first copy may have succeeded. */
	if (!me->maybe_sent && kind != MINT_E_SPENT && kind != MINT_E_OUTPUTS_SIGNED &&
	    kind != MINT_E_PENDING && kind != MINT_E_QUOTE_ISSUED && kind != MINT_E_INVOICE_PAID) {
		/* A definitive refusal (or no connection at all): the mint did
		 * not act on this request. */
		op_fail(w, op_id, false, me->detail);
		return kind;
	}
	if (op_load(w, op_id, &op) != 0)
		return kind;
	res = resolve_op(w, &op, meta, token_text, token_hash, tx_id, &why, &re);
	op_free(&op);
	if (res == RES_DONE)
		return MINT_OK;
	if (res == RES_OPEN) {
		op_note(w, op_id, me->detail);
		op_release(w, op_id);
		log_warn("wallet: operation %lld outcome unknown (%s: %s); left for recovery",
		    (long long)op_id, mint_err_name(kind), me->detail);
		return kind;
	}
	/* Failed: report the more telling reason. */
	if (why == MINT_E_SPENT) {
		if (kind != MINT_E_SPENT)
			*me = re;	/* else keep the mint's own answer */
		return MINT_E_SPENT;
	}
	return kind;
}

/* ================================================================ receive */

enum mint_err
wallet_receive_token(struct wallet_ctx *w, const char *token, const struct wallet_meta *meta,
    struct wallet_receipt *r, struct mint_error *e)
{
	struct cashu_token tok;
	struct mint_client mc;
	struct wmint m = { 0 };
	struct cashu_proof *in = NULL, *proofs = NULL;
	struct mint_output *outs = NULL;
	struct mint_sig *sigs = NULL;
	enum role *roles = NULL;
	uint64_t amounts[WALLET_OUTPUTS_MAX], sum_ppk = 0, fee;
	size_t nout, i, nproofs = 0, *idx = NULL;
	const char **full = NULL;
	char hash[65];
	enum cashu_token_err te;
	enum mint_err rc;
	struct mint_keyset *active;
	struct mint_error scratch;
	int64_t op_id = 0;
	bool refreshed = false;

	if (e == NULL)
		e = &scratch;
	memset(e, 0, sizeof(*e));
	memset(r, 0, sizeof(*r));
	memset(&tok, 0, sizeof(tok));
	te = cashu_token_decode(token, strlen(token), &tok);
	if (te != CASHU_TOK_OK) {
		rc = mint_error_set(e, MINT_E_TOKEN, "%s", cashu_token_strerror(te));
		goto out;
	}
	if (!cashu_token_single_mint(&tok)) {
		rc = mint_error_set(e, MINT_E_TOKEN, "token spans several mints");
		goto out;
	}
	if (client_for(w, tok.mint, &mc) != 0) {
		rc = mint_error_set(e, MINT_E_TOKEN, "token mint is not an http(s) URL");
		goto out;
	}
	copy_str(r->mint, sizeof(r->mint), mc.url);
	copy_str(r->unit, sizeof(r->unit), tok.unit);
	r->amount = tok.total;
	if (!w->allow_untrusted && !wallet_mint_trusted(w, mc.url)) {
		rc = mint_error_set(e, MINT_E_UNTRUSTED, "mint %.200s is not trusted", mc.url);
		goto out;
	}
	if (meta && meta->units) {
		const char *const *u;

		for (u = meta->units; *u && strcmp(*u, tok.unit) != 0; u++)
			;
		if (*u == NULL) {
			/* Refused before any swap: the token stays the user's. */
			rc = mint_error_set(e, MINT_E_UNIT, "tokens in unit '%.15s' are not accepted",
			    tok.unit);
			goto out;
		}
	}
	wallet_token_hash(&tok, hash);
	switch (tx_find_in(w, hash, r)) {
	case 1:
		rc = mint_error_set(e, MINT_E_ALREADY_REDEEMED, "token redeemed before (transaction %lld)",
		    (long long)r->tx_id);
		goto out;
	case -1:
		rc = mint_error_set(e, MINT_E_DB, "cannot look up the token");
		goto out;
	default:
		break;
	}

	/* Keysets: resolve every id (short v2 ids too); refresh once on a miss. */
	in = xcalloc(tok.nproofs, sizeof(*in));
again:
	wmint_free(&m);
	rc = wmint_prepare(w, mc.url, refreshed, &m, e);
	if (rc != MINT_OK)
		goto out;
	free(full);
	full = xcalloc(m.n ? m.n : 1, sizeof(*full));
	for (i = 0; i < m.n; i++)
		full[i] = m.ks[i].id;
	sum_ppk = 0;
	for (i = 0; i < tok.nproofs; i++) {
		const struct cashu_proof *p = &tok.proofs[i];
		const char *id = NULL;
		struct mint_keyset *ks;
		size_t k;
		int mr = cashu_keyset_id_match(p->keyset_id, full, m.n, &id);

		if (mr == -1 && !refreshed) {
			refreshed = true;
			goto again;
		}
		if (mr != 0) {
			rc = mint_error_set(e, MINT_E_KEYSET_UNKNOWN, "%s keyset id %s",
			    mr == -2 ? "ambiguous" : "unknown", p->keyset_id);
			goto out;
		}
		ks = wmint_find(&m, id);
		if ((rc = wmint_need_keys(w, &mc, ks, e)) != MINT_OK)
			goto out;
		if (strcmp(ks->unit, tok.unit) != 0) {
			rc = mint_error_set(e, MINT_E_TOKEN, "proof keyset unit %s is not the token unit %s",
			    ks->unit, tok.unit);
			goto out;
		}
		for (k = 0; k < ks->nkeys && ks->keys[k].amount != p->amount; k++)
			;
		if (k == ks->nkeys) {
			rc = mint_error_set(e, MINT_E_TOKEN, "keyset %s has no amount %llu", ks->id,
			    (unsigned long long)p->amount);
			goto out;
		}
		if (cashu_point_parse_hex(p->C, NULL) != 0) {
			rc = mint_error_set(e, MINT_E_TOKEN, "proof C is not a curve point");
			goto out;
		}
		if (p->dleq.present && p->dleq.r[0]) {
			uint8_t C[33], de[32], ds[32], dr[32];

			if (hex_decode(p->C, 66, C, 33) != 0 || hex_decode(p->dleq.e, 64, de, 32) != 0 ||
			    hex_decode(p->dleq.s, 64, ds, 32) != 0 || hex_decode(p->dleq.r, 64, dr, 32) != 0 ||
			    cashu_dleq_verify_proof(ks->keys[k].K, (const uint8_t *)p->secret,
			    strlen(p->secret), C, de, ds, dr) != 1) {
				rc = mint_error_set(e, MINT_E_TOKEN, "token contains a proof with an invalid DLEQ");
				goto out;
			}
		}
		in[i] = *p;	/* shallow: strings stay owned by tok */
		memset(&in[i].dleq, 0, sizeof(in[i].dleq));
		copy_str(in[i].keyset_id, sizeof(in[i].keyset_id), ks->id);
		sum_ppk += ks->input_fee_ppk;
	}
	fee = mint_fee_from_ppk(sum_ppk);
	r->fee = fee;
	if (tok.total <= fee) {
		rc = mint_error_set(e, MINT_E_TOO_SMALL, "token of %llu %s does not cover the fee of %llu",
		    (unsigned long long)tok.total, tok.unit, (unsigned long long)fee);
		goto out;
	}
	active = wmint_active(&m, tok.unit);
	if (active == NULL) {
		rc = mint_error_set(e, MINT_E_KEYSET_INACTIVE, "no active %s keyset at %s", tok.unit, mc.url);
		goto out;
	}
	nout = split_for(active, tok.total - fee, amounts, WALLET_OUTPUTS_MAX);
	if (nout == (size_t)-1) {
		rc = mint_error_set(e, MINT_E_AMOUNT_LIMIT, "cannot split %llu into outputs",
		    (unsigned long long)(tok.total - fee));
		goto out;
	}
	outs = xcalloc(nout, sizeof(*outs));
	roles = xcalloc(nout, sizeof(*roles));
	sigs = xcalloc(nout, sizeof(*sigs));
	if (mint_outputs_new(active->id, amounts, nout, outs) != 0) {
		rc = mint_error_set(e, MINT_E_INVALID, "cannot create outputs");
		goto out;
	}

	/* Write ahead: the outputs are committed before anything is sent. */
	if (db_begin(w->db) != RERR_OK) {
		rc = mint_error_set(e, MINT_E_DB, "cannot begin");
		goto out;
	}
	op_id = op_insert(w, "swap", "receive", mc.url, tok.unit, in, tok.nproofs, outs, roles, nout,
	    NULL, tok.total, fee, hash, meta);
	if (op_id == 0 || db_commit(w->db) != RERR_OK) {
		db_rollback(w->db);
		rc = mint_error_set(e, MINT_E_DB, "cannot write the operation");
		goto out;
	}
	r->op_id = op_id;
	if ((rc = op_start(w, op_id, e)) != MINT_OK)
		goto out;
	rc = mint_swap(&mc, in, tok.nproofs, outs, nout, true, sigs, e);
	if (rc == MINT_OK) {
		struct op_row op;

		if (hook(w, WALLET_HOOK_ANSWERED, op_id)) {
			rc = mint_error_set(e, MINT_E_INTERRUPTED, "stopped after the answer to operation %lld",
			    (long long)op_id);
			goto out;
		}
		idx = xcalloc(nout, sizeof(*idx));
		rc = unblind_all(w, &mc, &m, outs, sigs, nout, &proofs, idx, &nproofs, e);
		if (rc != MINT_OK) {
			op_note(w, op_id, e->detail);
			log_error("wallet: operation %lld: %s", (long long)op_id, e->detail);
			goto out;
		}
		if (op_load(w, op_id, &op) != 0) {
			rc = mint_error_set(e, MINT_E_DB, "cannot reload operation");
			goto out;
		}
		rc = store_result(w, &op, proofs, idx, nproofs, meta, token, hash, &r->tx_id, e);
		op_free(&op);
	} else {
		rc = after_failure(w, op_id, rc, e, meta, token, hash, &r->tx_id);
	}
	if (rc == MINT_OK)
		r->credited = tok.total - fee;
out:
	if (rc != MINT_OK && rc != MINT_E_ALREADY_REDEEMED)
		log_info("wallet: receive from %s failed: %s: %s", r->mint, mint_err_name(rc), e->detail);
	proofs_free(proofs, nproofs);
	free(idx);
	free(in);
	free(full);
	free(outs);
	free(roles);
	free(sigs);
	wmint_free(&m);
	cashu_token_free(&tok);
	return rc;
}

/* ================================================================ send */

/* Unspent proofs of a mint and unit, for selection. */
struct coinset {
	int64_t *rowid;
	struct cashu_proof *p;
	struct wallet_coin *c;
	size_t n;
};

static void
coinset_free(struct coinset *cs)
{
	free(cs->rowid);
	proofs_free(cs->p, cs->n);
	free(cs->c);
	memset(cs, 0, sizeof(*cs));
}

static int
coinset_load(struct wallet_ctx *w, const char *mint, const char *unit, struct wmint *m,
    struct coinset *cs)
{
	sqlite3_stmt *st = db_stmt(w->db, SQL_PROOFS_UNSPENT);
	size_t cap = 0;
	int s;

	memset(cs, 0, sizeof(*cs));
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, mint, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, unit, -1, SQLITE_TRANSIENT);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct mint_keyset *ks;
		size_t i = cs->n;

		if (i == cap) {
			cap = cap ? cap * 2 : 64;
			cs->rowid = xrealloc(cs->rowid, cap * sizeof(*cs->rowid));
			cs->p = xrealloc(cs->p, cap * sizeof(*cs->p));
			cs->c = xrealloc(cs->c, cap * sizeof(*cs->c));
		}
		memset(&cs->p[i], 0, sizeof(cs->p[i]));
		cs->rowid[i] = sqlite3_column_int64(st, 0);
		copy_str(cs->p[i].keyset_id, sizeof(cs->p[i].keyset_id),
		    (const char *)sqlite3_column_text(st, 1));
		cs->p[i].amount = (uint64_t)sqlite3_column_int64(st, 2);
		cs->p[i].secret = xstrdup((const char *)sqlite3_column_text(st, 3));
		copy_str(cs->p[i].C, sizeof(cs->p[i].C), (const char *)sqlite3_column_text(st, 4));
		ks = wmint_find(m, cs->p[i].keyset_id);
		cs->c[i].amount = cs->p[i].amount;
		cs->c[i].fee_ppk = ks ? ks->input_fee_ppk : 0;
		cs->n++;
	}
	sqlite3_reset(st);
	return s == SQLITE_DONE ? 0 : -1;
}

static int
hold_proofs(struct wallet_ctx *w, const struct coinset *cs, const size_t *chosen, size_t n,
    const char *state, int64_t op)
{
	size_t i;

	for (i = 0; i < n; i++) {
		sqlite3_stmt *st = db_stmt(w->db, SQL_PROOF_HOLD);

		if (st == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, cs->rowid[chosen[i]]);
		sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
		if (op)
			sqlite3_bind_int64(st, 3, op);
		sqlite3_bind_int64(st, 4, wall_sec());
		if (exec_stmt(w->db, st) != 0 || sqlite3_changes(db_handle(w->db)) != 1)
			return -1;
	}
	return 0;
}

static enum mint_err
send_once(struct wallet_ctx *w, const char *mint_url, const char *unit, uint64_t amount,
    const struct wallet_meta *meta, char **token, struct wallet_receipt *r, bool *retry,
    struct mint_error *e)
{
	struct mint_client mc;
	struct wmint m = { 0 };
	struct coinset cs = { 0 };
	struct cashu_proof *sel = NULL, *proofs = NULL, *sendp = NULL;
	struct mint_output *outs = NULL;
	struct mint_sig *sigs = NULL;
	enum role *roles = NULL;
	uint64_t amounts[WALLET_OUTPUTS_MAX], sum = 0, fee = 0;
	size_t *chosen = NULL, nchosen = 0, nsend, nkeep, nout = 0, i, nproofs = 0, nsendp = 0;
	size_t *idx = NULL;
	struct mint_keyset *active;
	char hash[65];
	char *tok = NULL;
	enum mint_err rc;
	int64_t op_id = 0;
	bool in_tx = false;

	*retry = false;
	if (client_for(w, mint_url, &mc) != 0)
		return mint_error_set(e, MINT_E_INVALID, "bad mint URL");
	copy_str(r->mint, sizeof(r->mint), mc.url);
	copy_str(r->unit, sizeof(r->unit), unit);
	r->amount = amount;
	if ((rc = wmint_prepare(w, mc.url, false, &m, e)) != MINT_OK)
		goto out;
	active = wmint_active(&m, unit);

	if (db_begin(w->db) != RERR_OK) {
		rc = mint_error_set(e, MINT_E_DB, "cannot begin");
		goto out;
	}
	in_tx = true;
	if (coinset_load(w, mc.url, unit, &m, &cs) != 0) {
		rc = mint_error_set(e, MINT_E_DB, "cannot read proofs");
		goto out;
	}
	chosen = xcalloc(cs.n ? cs.n : 1, sizeof(*chosen));
	if (wallet_select(cs.c, cs.n, amount, true, chosen, &nchosen, &fee) == 0) {
		/* Exact: the proofs leave as they are, no mint call. */
		sel = xcalloc(nchosen, sizeof(*sel));
		for (i = 0; i < nchosen; i++) {
			sel[i] = cs.p[chosen[i]];
			sel[i].secret = xstrdup(cs.p[chosen[i]].secret);
			sel[i].witness = NULL;
		}
		tok = encode_token(mc.url, unit, sel, nchosen);
		{
			struct cashu_token t = { .proofs = sel, .nproofs = nchosen };

			wallet_token_hash(&t, hash);
		}
		if (tok == NULL || hold_proofs(w, &cs, chosen, nchosen, "spent", 0) != 0 ||
		    (r->tx_id = tx_insert(w, "out", tok, hash, amount, 0, unit, mc.url, meta, "send",
		    0)) == 0 || db_commit(w->db) != RERR_OK) {
			rc = mint_error_set(e, MINT_E_DB, "cannot store the outgoing token");
			goto out;
		}
		in_tx = false;
		*token = tok;
		tok = NULL;
		rc = MINT_OK;
		goto out;
	}
	if (active == NULL) {
		rc = mint_error_set(e, MINT_E_KEYSET_INACTIVE, "no active %s keyset at %s", unit, mc.url);
		goto out;
	}
	if (wallet_select(cs.c, cs.n, amount, false, chosen, &nchosen, &fee) != 0) {
		rc = mint_error_set(e, MINT_E_INSUFFICIENT, "%s has not %llu %s available", mc.url,
		    (unsigned long long)amount, unit);
		goto out;
	}
	sel = xcalloc(nchosen, sizeof(*sel));
	for (i = 0; i < nchosen; i++) {
		sel[i] = cs.p[chosen[i]];
		sel[i].secret = xstrdup(cs.p[chosen[i]].secret);
		sel[i].witness = NULL;
		sum += sel[i].amount;
	}
	nsend = split_for(active, amount, amounts, WALLET_OUTPUTS_MAX);
	nkeep = nsend == (size_t)-1 || sum - fee == amount ? 0 :
	    split_for(active, sum - fee - amount, amounts + nsend, WALLET_OUTPUTS_MAX - nsend);
	if (nsend == (size_t)-1 || nkeep == (size_t)-1) {
		rc = mint_error_set(e, MINT_E_AMOUNT_LIMIT, "cannot split the amount into outputs");
		goto out;
	}
	nout = nsend + nkeep;
	outs = xcalloc(nout, sizeof(*outs));
	roles = xcalloc(nout, sizeof(*roles));
	sigs = xcalloc(nout, sizeof(*sigs));
	if (mint_outputs_new(active->id, amounts, nout, outs) != 0) {
		rc = mint_error_set(e, MINT_E_INVALID, "cannot create outputs");
		goto out;
	}
	for (i = 0; i < nout; i++)
		roles[i] = i < nsend ? ROLE_SEND : ROLE_KEEP;
	op_id = op_insert(w, "swap", "send", mc.url, unit, sel, nchosen, outs, roles, nout, NULL,
	    amount, fee, NULL, meta);
	if (op_id == 0 || hold_proofs(w, &cs, chosen, nchosen, "pending", op_id) != 0 ||
	    db_commit(w->db) != RERR_OK) {
		rc = mint_error_set(e, MINT_E_DB, "cannot write the operation");
		goto out;
	}
	in_tx = false;
	r->op_id = op_id;
	r->fee = fee;
	if ((rc = op_start(w, op_id, e)) != MINT_OK)
		goto out;
	rc = mint_swap(&mc, sel, nchosen, outs, nout, true, sigs, e);
	if (rc != MINT_OK) {
		rc = after_failure(w, op_id, rc, e, NULL, NULL, NULL, NULL);
		/* Resolved done: every output is now an unspent proof; the
		 * caller selects again (exactly this time). */
		if (rc == MINT_OK) {
			*retry = true;
			rc = mint_error_set(e, MINT_E_INTERRUPTED, "recovered; select again");
		}
		goto out;
	}
	if (hook(w, WALLET_HOOK_ANSWERED, op_id)) {
		rc = mint_error_set(e, MINT_E_INTERRUPTED, "stopped after the answer to operation %lld",
		    (long long)op_id);
		goto out;
	}
	idx = xcalloc(nout, sizeof(*idx));
	rc = unblind_all(w, &mc, &m, outs, sigs, nout, &proofs, idx, &nproofs, e);
	if (rc != MINT_OK) {
		op_note(w, op_id, e->detail);
		goto out;
	}
	sendp = xcalloc(nsend, sizeof(*sendp));
	for (i = 0; i < nproofs; i++)
		if (idx[i] < nsend)
			sendp[nsendp++] = proofs[i];	/* shallow; proofs keeps ownership */
	tok = nsendp == nsend ? encode_token(mc.url, unit, sendp, nsendp) : NULL;
	if (tok == NULL) {
		rc = mint_error_set(e, MINT_E_INVALID, "cannot encode the token");
		goto out;
	}
	{
		struct cashu_token t = { .proofs = sendp, .nproofs = nsendp };

		wallet_token_hash(&t, hash);
	}
	if (db_begin(w->db) != RERR_OK) {
		rc = mint_error_set(e, MINT_E_DB, "cannot begin");
		goto out;
	}
	in_tx = true;
	for (i = 0; i < nproofs; i++)
		if (proof_insert(w, mc.url, unit, &proofs[i], idx[i] < nsend ? "spent" : "unspent",
		    idx[i] < nsend ? op_id : 0, op_id) != 0)
			break;
	if (i < nproofs || op_done_tx(w, op_id) != 0 ||
	    (r->tx_id = tx_insert(w, "out", tok, hash, amount, 0, unit, mc.url, meta, "send", op_id)) == 0 ||
	    db_commit(w->db) != RERR_OK) {
		rc = mint_error_set(e, MINT_E_DB, "cannot store the outgoing token");
		goto out;
	}
	in_tx = false;
	*token = tok;
	tok = NULL;
	rc = MINT_OK;
out:
	if (in_tx)
		db_rollback(w->db);
	free(tok);
	free(sendp);
	proofs_free(proofs, nproofs);
	free(idx);
	proofs_free(sel, nchosen);
	free(chosen);
	free(outs);
	free(roles);
	free(sigs);
	coinset_free(&cs);
	wmint_free(&m);
	return rc;
}

enum mint_err
wallet_send(struct wallet_ctx *w, const char *mint_url, const char *unit, uint64_t amount,
    const struct wallet_meta *meta, char **token, struct wallet_receipt *r, struct mint_error *e)
{
	struct wallet_receipt scratch_r;
	struct mint_error scratch;
	enum mint_err rc;
	bool retry = false;

	if (e == NULL)
		e = &scratch;
	if (r == NULL)
		r = &scratch_r;
	memset(e, 0, sizeof(*e));
	memset(r, 0, sizeof(*r));
	*token = NULL;
	if (amount == 0 || amount > INT64_MAX || unit == NULL || strlen(unit) >= sizeof(r->unit))
		return mint_error_set(e, MINT_E_INVALID, "bad amount or unit");
	rc = send_once(w, mint_url, unit, amount, meta, token, r, &retry, e);
	if (retry) {
		memset(e, 0, sizeof(*e));
		memset(r, 0, sizeof(*r));
		rc = send_once(w, mint_url, unit, amount, meta, token, r, &retry, e);
	}
	return rc;
}

/* ================================================================ mint (NUT-04) */

enum mint_err
wallet_mint_quote(struct wallet_ctx *w, const char *mint_url, const char *unit, uint64_t amount,
    struct mint_quote *q, struct mint_error *e)
{
	struct mint_client mc;

	memset(q, 0, sizeof(*q));
	if (client_for(w, mint_url, &mc) != 0)
		return mint_error_set(e, MINT_E_INVALID, "bad mint URL");
	if (!wallet_mint_trusted(w, mc.url))
		return mint_error_set(e, MINT_E_UNTRUSTED, "mint %.200s is not trusted", mc.url);
	return mint_mint_quote(&mc, amount, unit, q, e);
}

enum mint_err
wallet_mint_proofs(struct wallet_ctx *w, const char *mint_url, const char *unit, uint64_t amount,
    const char *quote, struct wallet_receipt *r, struct mint_error *e)
{
	struct mint_client mc;
	struct wmint m = { 0 };
	struct mint_output *outs = NULL;
	struct mint_sig *sigs = NULL;
	struct cashu_proof *proofs = NULL;
	enum role *roles = NULL;
	uint64_t amounts[WALLET_OUTPUTS_MAX];
	size_t nout, *idx = NULL, nproofs = 0;
	struct mint_keyset *active;
	struct wallet_receipt scratch_r;
	struct mint_error scratch;
	enum mint_err rc;
	int64_t op_id;

	if (e == NULL)
		e = &scratch;
	if (r == NULL)
		r = &scratch_r;
	memset(e, 0, sizeof(*e));
	memset(r, 0, sizeof(*r));
	if (client_for(w, mint_url, &mc) != 0 || quote == NULL || amount == 0 || amount > INT64_MAX)
		return mint_error_set(e, MINT_E_INVALID, "bad mint URL, quote or amount");
	if (!wallet_mint_trusted(w, mc.url))
		return mint_error_set(e, MINT_E_UNTRUSTED, "mint %.200s is not trusted", mc.url);
	copy_str(r->mint, sizeof(r->mint), mc.url);
	copy_str(r->unit, sizeof(r->unit), unit);
	r->amount = amount;
	if ((rc = wmint_prepare(w, mc.url, false, &m, e)) != MINT_OK)
		goto out;
	active = wmint_active(&m, unit);
	if (active == NULL) {
		rc = mint_error_set(e, MINT_E_KEYSET_INACTIVE, "no active %s keyset", unit);
		goto out;
	}
	nout = split_for(active, amount, amounts, WALLET_OUTPUTS_MAX);
	if (nout == (size_t)-1) {
		rc = mint_error_set(e, MINT_E_AMOUNT_LIMIT, "cannot split the amount");
		goto out;
	}
	outs = xcalloc(nout, sizeof(*outs));
	roles = xcalloc(nout, sizeof(*roles));
	sigs = xcalloc(nout, sizeof(*sigs));
	if (mint_outputs_new(active->id, amounts, nout, outs) != 0) {
		rc = mint_error_set(e, MINT_E_INVALID, "cannot create outputs");
		goto out;
	}
	if (db_begin(w->db) != RERR_OK) {
		rc = mint_error_set(e, MINT_E_DB, "cannot begin");
		goto out;
	}
	op_id = op_insert(w, "mint", "mint", mc.url, unit, NULL, 0, outs, roles, nout, quote, amount,
	    0, NULL, NULL);
	if (op_id == 0 || db_commit(w->db) != RERR_OK) {
		db_rollback(w->db);
		rc = mint_error_set(e, MINT_E_DB, "cannot write the operation");
		goto out;
	}
	r->op_id = op_id;
	if ((rc = op_start(w, op_id, e)) != MINT_OK)
		goto out;
	rc = mint_mint(&mc, quote, outs, nout, true, sigs, e);
	if (rc == MINT_OK) {
		struct op_row op;

		if (hook(w, WALLET_HOOK_ANSWERED, op_id)) {
			rc = mint_error_set(e, MINT_E_INTERRUPTED, "stopped after the answer");
			goto out;
		}
		idx = xcalloc(nout, sizeof(*idx));
		rc = unblind_all(w, &mc, &m, outs, sigs, nout, &proofs, idx, &nproofs, e);
		if (rc != MINT_OK) {
			op_note(w, op_id, e->detail);
			goto out;
		}
		if (op_load(w, op_id, &op) != 0) {
			rc = mint_error_set(e, MINT_E_DB, "cannot reload operation");
			goto out;
		}
		rc = store_result(w, &op, proofs, idx, nproofs, NULL, NULL, NULL, NULL, e);
		op_free(&op);
	} else {
		rc = after_failure(w, op_id, rc, e, NULL, NULL, NULL, NULL);
	}
	if (rc == MINT_OK)
		r->credited = amount;
out:
	proofs_free(proofs, nproofs);
	free(idx);
	free(outs);
	free(roles);
	free(sigs);
	wmint_free(&m);
	return rc;
}

/* ================================================================ melt (NUT-05) */

enum mint_err
wallet_melt(struct wallet_ctx *w, const char *mint_url, const char *unit, const char *bolt11,
    struct wallet_melt_result *res, struct mint_error *e)
{
	return wallet_melt_for(w, mint_url, unit, bolt11, NULL, res, e);
}

enum mint_err
wallet_melt_for(struct wallet_ctx *w, const char *mint_url, const char *unit, const char *bolt11,
    const struct wallet_meta *meta, struct wallet_melt_result *res, struct mint_error *e)
{
	struct mint_client mc;
	struct wmint m = { 0 };
	struct coinset cs = { 0 };
	struct mint_quote q, fin;
	struct cashu_proof *sel = NULL, *proofs = NULL;
	struct mint_output *outs = NULL;
	enum role *roles = NULL;
	struct mint_sig *sigs = NULL;
	uint64_t ones[64], need, sum = 0, fee = 0, maxchange;
	size_t *chosen = NULL, nchosen = 0, nblank = 0, i, *idx = NULL, nproofs = 0;
	struct mint_keyset *active;
	struct mint_error scratch;
	enum mint_err rc;
	int64_t op_id = 0;
	bool in_tx = false;

	if (e == NULL)
		e = &scratch;
	memset(e, 0, sizeof(*e));
	memset(res, 0, sizeof(*res));
	memset(&q, 0, sizeof(q));
	memset(&fin, 0, sizeof(fin));
	if (client_for(w, mint_url, &mc) != 0)
		return mint_error_set(e, MINT_E_INVALID, "bad mint URL");
	if ((rc = wmint_prepare(w, mc.url, false, &m, e)) != MINT_OK)
		goto out;
	active = wmint_active(&m, unit);
	if (active == NULL) {
		rc = mint_error_set(e, MINT_E_KEYSET_INACTIVE, "no active %s keyset", unit);
		goto out;
	}
	if ((rc = mint_melt_quote(&mc, bolt11, unit, &q, e)) != MINT_OK)
		goto out;
	res->amount = q.amount;
	res->fee_reserve = q.fee_reserve;
	if (q.amount > INT64_MAX / 2 || q.fee_reserve > INT64_MAX / 2) {
		rc = mint_error_set(e, MINT_E_PROTOCOL, "absurd melt quote");
		goto out;
	}
	need = q.amount + q.fee_reserve;

	if (db_begin(w->db) != RERR_OK) {
		rc = mint_error_set(e, MINT_E_DB, "cannot begin");
		goto out;
	}
	in_tx = true;
	if (coinset_load(w, mc.url, unit, &m, &cs) != 0) {
		rc = mint_error_set(e, MINT_E_DB, "cannot read proofs");
		goto out;
	}
	chosen = xcalloc(cs.n ? cs.n : 1, sizeof(*chosen));
	if (wallet_select(cs.c, cs.n, need, false, chosen, &nchosen, &fee) != 0) {
		rc = mint_error_set(e, MINT_E_INSUFFICIENT, "not %llu %s available for the melt",
		    (unsigned long long)need, unit);
		goto out;
	}
	sel = xcalloc(nchosen, sizeof(*sel));
	for (i = 0; i < nchosen; i++) {
		sel[i] = cs.p[chosen[i]];
		sel[i].secret = xstrdup(cs.p[chosen[i]].secret);
		sel[i].witness = NULL;
		sum += sel[i].amount;
	}
	res->inputs = sum;
	res->input_fee = fee;
	if (meta && meta->melt_max && need + fee > meta->melt_max) {
		/* The quote came out dearer than the caller sized it for:
		 * the difference would be someone else's money. */
		rc = mint_error_set(e, MINT_E_INSUFFICIENT, "the melt needs %llu %s, above its cap %llu",
		    (unsigned long long)(need + fee), unit, (unsigned long long)meta->melt_max);
		goto out;
	}
	/* Enough blank outputs to carry any change up to sum - fee - amount
	 * (NUT-08's count covers only the fee reserve). */
	maxchange = sum - fee - q.amount;
	while (nblank < 63 && (maxchange >> nblank) != 0)
		nblank++;
	if (nblank > 0) {
		for (i = 0; i < nblank; i++)
			ones[i] = 1;
		outs = xcalloc(nblank, sizeof(*outs));
		roles = xcalloc(nblank, sizeof(*roles));
		if (mint_outputs_new(active->id, ones, nblank, outs) != 0) {
			rc = mint_error_set(e, MINT_E_INVALID, "cannot create outputs");
			goto out;
		}
		for (i = 0; i < nblank; i++)
			roles[i] = ROLE_BLANK;
	}
	op_id = op_insert(w, "melt", "melt", mc.url, unit, sel, nchosen, outs, roles, nblank, q.quote,
	    q.amount, fee, NULL, meta);
	if (op_id == 0 || hold_proofs(w, &cs, chosen, nchosen, "pending", op_id) != 0 ||
	    db_commit(w->db) != RERR_OK) {
		rc = mint_error_set(e, MINT_E_DB, "cannot write the operation");
		goto out;
	}
	in_tx = false;
	res->op_id = op_id;
	if ((rc = op_start(w, op_id, e)) != MINT_OK)
		goto out;
	rc = mint_melt(&mc, q.quote, sel, nchosen, outs, nblank, &fin, e);
	if (rc != MINT_OK) {
		rc = after_failure(w, op_id, rc, e, NULL, NULL, NULL, NULL);
		goto out;
	}
	if (fin.state == MINT_QUOTE_PENDING) {
		rc = mint_error_set(e, MINT_E_PENDING, "payment in flight; operation %lld stays open",
		    (long long)op_id);
		goto out;
	}
	if (fin.state != MINT_QUOTE_PAID) {
		op_fail(w, op_id, false, "melt answered unpaid");
		rc = mint_error_set(e, MINT_E_PAYMENT_FAILED, "melt answered state %d", (int)fin.state);
		goto out;
	}
	if (hook(w, WALLET_HOOK_ANSWERED, op_id)) {
		rc = mint_error_set(e, MINT_E_INTERRUPTED, "stopped after the answer");
		goto out;
	}
	if (fin.preimage)
		copy_str(res->preimage, sizeof(res->preimage), fin.preimage);
	sigs = xcalloc(nblank ? nblank : 1, sizeof(*sigs));
	for (i = 0; i < fin.nchange; i++)
		sigs[i] = fin.change[i];
	idx = xcalloc(nblank ? nblank : 1, sizeof(*idx));
	rc = unblind_all(w, &mc, &m, outs, sigs, nblank, &proofs, idx, &nproofs, e);
	if (rc != MINT_OK) {
		op_note(w, op_id, e->detail);
		goto out;
	}
	for (i = 0; i < nproofs; i++)
		res->change += proofs[i].amount;
	{
		struct op_row op;

		if (op_load(w, op_id, &op) != 0) {
			rc = mint_error_set(e, MINT_E_DB, "cannot reload operation");
			goto out;
		}
		rc = store_result(w, &op, proofs, idx, nproofs, NULL, NULL, NULL, NULL, e);
		op_free(&op);
	}
out:
	if (in_tx)
		db_rollback(w->db);
	proofs_free(proofs, nproofs);
	free(idx);
	proofs_free(sel, nchosen);
	free(chosen);
	free(outs);
	free(roles);
	free(sigs);
	mint_quote_free(&q);
	mint_quote_free(&fin);
	coinset_free(&cs);
	wmint_free(&m);
	return rc;
}

/* ================================================================ balance, recovery */

static const char SQL_BALANCE[] =
    "SELECT mint_url, unit,"
    " coalesce(sum(CASE WHEN state = 'unspent' THEN amount END), 0),"
    " coalesce(sum(CASE WHEN state = 'pending' THEN amount END), 0),"
    " count(CASE WHEN state = 'unspent' THEN 1 END)"
    " FROM wallet_proofs WHERE state IN ('unspent', 'pending') GROUP BY mint_url, unit"
    " ORDER BY mint_url, unit";

enum mint_err
wallet_balance(struct wallet_ctx *w, struct wallet_balance **out, size_t *n)
{
	sqlite3_stmt *st = db_stmt(w->db, SQL_BALANCE);
	struct wallet_balance *b = NULL;
	size_t cnt = 0, cap = 0;
	int s;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return MINT_E_DB;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			b = xrealloc(b, cap * sizeof(*b));
		}
		memset(&b[cnt], 0, sizeof(b[cnt]));
		copy_str(b[cnt].mint, sizeof(b[cnt].mint), (const char *)sqlite3_column_text(st, 0));
		copy_str(b[cnt].unit, sizeof(b[cnt].unit), (const char *)sqlite3_column_text(st, 1));
		b[cnt].unspent = (uint64_t)sqlite3_column_int64(st, 2);
		b[cnt].pending = (uint64_t)sqlite3_column_int64(st, 3);
		b[cnt].nproofs = (size_t)sqlite3_column_int64(st, 4);
		cnt++;
	}
	sqlite3_reset(st);
	if (s != SQLITE_DONE) {
		free(b);
		return MINT_E_DB;
	}
	*out = b;
	*n = cnt;
	return MINT_OK;
}

/* Resolve the open operations updated at least min_age_s ago whose owner is
 * gone (or that their runner gave up), optionally only those of one token
 * (token_hash) or one withdrawal (fund_ref). */
static enum mint_err
recover_ops(struct wallet_ctx *w, int64_t min_age_s, const char *token_hash, const char *fund_ref,
    const char *key, const char *quote, struct wallet_recover_stats *st, struct mint_error *e)
{
	sqlite3_stmt *q = db_stmt(w->db, SQL_OP_OPEN);
	int64_t *ids = NULL;
	size_t n = 0, cap = 0, i;
	enum mint_err last = MINT_OK;

	memset(st, 0, sizeof(*st));
	if (q == NULL)
		return mint_error_set(e, MINT_E_DB, "cannot list operations");
	sqlite3_bind_int64(q, 1, wall_sec() - min_age_s);
	bind_text(q, 2, token_hash);
	bind_text(q, 3, fund_ref);
	bind_text(q, 4, key);
	bind_text(q, 5, quote);
	while (sqlite3_step(q) == SQLITE_ROW) {
		/* A live runner (another thread or process) finishes its own. */
		if (owner_tag_alive((const char *)sqlite3_column_text(q, 1)) != 0) {
			st->live++;
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			ids = xrealloc(ids, cap * sizeof(*ids));
		}
		ids[n++] = sqlite3_column_int64(q, 0);
	}
	sqlite3_reset(q);
	for (i = 0; i < n; i++) {
		struct op_row op;
		struct mint_error re = { 0 };
		enum mint_err why;
		enum resolution res;

		if (op_load(w, ids[i], &op) != 0) {
			st->left++;
			continue;
		}
		st->examined++;
		res = resolve_op(w, &op, NULL, NULL, NULL, NULL, &why, &re);
		switch (res) {
		case RES_DONE:
			st->done++;
			log_info("wallet: recovered operation %lld (%s %s at %s): done", (long long)op.id,
			    op.kind, op.purpose, op.mint);
			break;
		case RES_FAILED:
			st->failed++;
			log_info("wallet: recovered operation %lld (%s %s at %s): failed (%s)",
			    (long long)op.id, op.kind, op.purpose, op.mint, mint_err_name(why));
			break;
		case RES_OPEN:
			st->left++;
			last = why;
			if (e)
				*e = re;
			log_warn("wallet: operation %lld still open: %s: %s", (long long)op.id,
			    mint_err_name(why), re.detail);
			break;
		}
		op_free(&op);
	}
	free(ids);
	return st->left ? (last != MINT_OK ? last : MINT_E_PENDING) : MINT_OK;
}

enum mint_err
wallet_recover(struct wallet_ctx *w, int64_t min_age_s, struct wallet_recover_stats *st,
    struct mint_error *e)
{
	return recover_ops(w, min_age_s, NULL, NULL, NULL, NULL, st, e);
}

enum mint_err
wallet_recover_quote(struct wallet_ctx *w, const char *quote, struct wallet_recover_stats *st,
    struct mint_error *e)
{
	return recover_ops(w, 0, NULL, NULL, NULL, quote, st, e);
}

enum mint_err
wallet_recover_for(struct wallet_ctx *w, const char *token_hash, const char *fund_ref,
    const char *api_key_hash, struct wallet_recover_stats *st, struct mint_error *e)
{
	return recover_ops(w, 0, token_hash, fund_ref, api_key_hash, NULL, st, e);
}

/* ------------------------------------------------------ transaction queries */

static const char SQL_TX_BY_KEY[] =
    "SELECT id, direction, coalesce(source, ''), amount, unit, mint_url, created_at, collected,"
    " swept FROM cashu_transactions WHERE api_key_hash = ? ORDER BY created_at DESC, id DESC"
    " LIMIT 500";

enum mint_err
wallet_tx_history(struct wallet_ctx *w, const char *api_key_hash, struct wallet_tx **out,
    size_t *n)
{
	sqlite3_stmt *st = db_stmt(w->db, SQL_TX_BY_KEY);
	struct wallet_tx *v = NULL;
	size_t k = 0;
	int s;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return MINT_E_DB;
	sqlite3_bind_text(st, 1, api_key_hash, -1, SQLITE_TRANSIENT);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct wallet_tx *t;

		v = xrealloc(v, (k + 1) * sizeof(*v));
		t = &v[k++];
		memset(t, 0, sizeof(*t));
		t->id = sqlite3_column_int64(st, 0);
		copy_str(t->direction, sizeof(t->direction), (const char *)sqlite3_column_text(st, 1));
		copy_str(t->source, sizeof(t->source), (const char *)sqlite3_column_text(st, 2));
		t->amount = (uint64_t)sqlite3_column_int64(st, 3);
		copy_str(t->unit, sizeof(t->unit), (const char *)sqlite3_column_text(st, 4));
		copy_str(t->mint, sizeof(t->mint), (const char *)sqlite3_column_text(st, 5));
		t->created_at = sqlite3_column_int64(st, 6);
		t->collected = sqlite3_column_int(st, 7) != 0;
		t->swept = sqlite3_column_int(st, 8) != 0;
	}
	sqlite3_reset(st);
	if (s != SQLITE_DONE) {
		free(v);
		return MINT_E_DB;
	}
	*out = v;
	*n = k;
	return MINT_OK;
}


/* ------------------------------------------------------ for the funds module */

static const char SQL_TX_BY_FUND_REF[] =
    "SELECT id FROM cashu_transactions WHERE fund_ref = ? ORDER BY id LIMIT 1";
static const char SQL_TX_GET[] =
    "SELECT token, amount, unit, mint_url FROM cashu_transactions WHERE id = ?";

int
wallet_tx_by_fund_ref(struct wallet_ctx *w, const char *fund_ref, int64_t *tx_id)
{
	sqlite3_stmt *st = db_stmt(w->db, SQL_TX_BY_FUND_REF);
	int rc = 0, s;

	*tx_id = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, fund_ref, -1, SQLITE_TRANSIENT);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		*tx_id = sqlite3_column_int64(st, 0);
		rc = 1;
	} else if (s != SQLITE_DONE) {
		rc = -1;
	}
	sqlite3_reset(st);
	return rc;
}

enum mint_err
wallet_tx_get(struct wallet_ctx *w, int64_t tx_id, char **token, uint64_t *amount, char unit[16])
{
	sqlite3_stmt *st = db_stmt(w->db, SQL_TX_GET);
	enum mint_err rc = MINT_E_INVALID;

	*token = NULL;
	if (st == NULL)
		return MINT_E_DB;
	sqlite3_bind_int64(st, 1, tx_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*token = xstrdup((const char *)sqlite3_column_text(st, 0));
		*amount = (uint64_t)sqlite3_column_int64(st, 1);
		copy_str(unit, 16, (const char *)sqlite3_column_text(st, 2));
		rc = MINT_OK;
	}
	sqlite3_reset(st);
	return rc;
}

enum mint_err
wallet_token_spent(struct wallet_ctx *w, const char *token, bool *spent, struct mint_error *e)
{
	struct cashu_token t;
	struct mint_client mc;
	enum mint_proof_state *states = NULL;
	char (*Y)[67] = NULL;
	const char **ys = NULL;
	enum mint_err rc;
	size_t i;

	*spent = false;
	memset(&t, 0, sizeof(t));
	if (cashu_token_decode(token, strlen(token), &t) != CASHU_TOK_OK || t.nproofs == 0) {
		cashu_token_free(&t);
		return mint_error_set(e, MINT_E_TOKEN, "stored token does not decode");
	}
	if (client_for(w, t.mint, &mc) != 0) {
		rc = mint_error_set(e, MINT_E_INVALID, "bad mint URL in token");
		goto out;
	}
	Y = xcalloc(t.nproofs, sizeof(*Y));
	ys = xcalloc(t.nproofs, sizeof(*ys));
	states = xcalloc(t.nproofs, sizeof(*states));
	for (i = 0; i < t.nproofs; i++) {
		if (mint_proof_y(t.proofs[i].secret, Y[i]) != 0) {
			rc = mint_error_set(e, MINT_E_INVALID, "bad secret in token");
			goto out;
		}
		ys[i] = Y[i];
	}
	rc = mint_checkstate(&mc, ys, t.nproofs, states, e);
	if (rc == MINT_OK)
		for (i = 0; i < t.nproofs; i++)
			*spent = *spent || states[i] == MINT_STATE_SPENT;
out:
	free(states);
	free(ys);
	free(Y);
	cashu_token_free(&t);
	return rc;
}

int
wallet_find_receipt(struct wallet_ctx *w, const char *token, struct wallet_receipt *r,
    char hash[65])
{
	struct cashu_token t;
	int rc;

	memset(r, 0, sizeof(*r));
	hash[0] = '\0';
	memset(&t, 0, sizeof(t));
	if (cashu_token_decode(token, strlen(token), &t) != CASHU_TOK_OK) {
		cashu_token_free(&t);
		return 0;
	}
	wallet_token_hash(&t, hash);
	cashu_token_free(&t);
	rc = tx_find_in(w, hash, r);
	if (rc == 1)
		r->credited = r->amount - r->fee;
	return rc;
}

static const char SQL_OP_COUNT_OPEN[] =
    "SELECT count(*) FROM mint_operations WHERE state IN ('prepared', 'sent')"
    " AND (?1 IS NULL OR token_hash = ?1) AND (?2 IS NULL OR fund_ref = ?2)"
    " AND (?3 IS NULL OR api_key_hash = ?3)";

int
wallet_op_open(struct wallet_ctx *w, const char *token_hash, const char *fund_ref,
    const char *api_key_hash)
{
	sqlite3_stmt *st = db_stmt(w->db, SQL_OP_COUNT_OPEN);
	int n = -1;

	if (st == NULL)
		return -1;
	bind_text(st, 1, token_hash);
	bind_text(st, 2, fund_ref);
	bind_text(st, 3, api_key_hash);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return n;
}

static const char SQL_OP_FIND[] =
    "SELECT id, state FROM mint_operations WHERE kind = ?1"
    " AND (?2 IS NULL OR fund_ref = ?2) AND (?3 IS NULL OR quote = ?3)"
    " ORDER BY id DESC LIMIT 1";

int
wallet_op_find(struct wallet_ctx *w, const char *kind, const char *fund_ref, const char *quote,
    int64_t *op_id, char state[16])
{
	sqlite3_stmt *st;
	int rc, found = -1;

	*op_id = 0;
	state[0] = '\0';
	if (fund_ref == NULL && quote == NULL)
		return -1;
	if ((st = db_stmt(w->db, SQL_OP_FIND)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	bind_text(st, 2, fund_ref);
	bind_text(st, 3, quote);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*op_id = sqlite3_column_int64(st, 0);
		copy_str(state, 16, (const char *)sqlite3_column_text(st, 1));
		found = 1;
	} else if (rc == SQLITE_DONE) {
		found = 0;
	}
	sqlite3_reset(st);
	return found;
}
