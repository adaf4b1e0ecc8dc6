/* cli/cmd_cashu: see cmd_cashu.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "buf.h"
#include "cli.h"
#include "cmd_cashu.h"
#include "db.h"
#include "upstream.h"
#include "util.h"
#include "cashu/token.h"
#include "cashu/wallet.h"

/* Read all of stdin up to the token cap into a new string (caller frees). */
static char *
read_stdin(void)
{
	struct buf b;
	char chunk[4096];
	size_t n;

	buf_init(&b, CASHU_TOKEN_MAX + 16);
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (buf_append(&b, chunk, n) != 0) {
			buf_free(&b);
			return NULL;
		}
	if (b.data == NULL)
		return xstrdup("");
	return buf_steal(&b, NULL);
}

/* The token as a new json-c object (caller puts it). */
static struct json_object *
token_json(const struct cashu_token *t)
{
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
	size_t i;
	int multi = !cashu_token_single_mint(t);

	json_object_object_add(o, "version", json_object_new_int(t->version));
	json_object_object_add(o, "mint", json_object_new_string(t->mint ? t->mint : ""));
	json_object_object_add(o, "unit", json_object_new_string(t->unit));
	json_object_object_add(o, "amount", json_object_new_uint64(t->total));
	if (t->memo)
		json_object_object_add(o, "memo", json_object_new_string(t->memo));
	for (i = 0; i < t->nproofs; i++) {
		const struct cashu_proof *p = &t->proofs[i];
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "amount", json_object_new_uint64(p->amount));
		json_object_object_add(j, "id", json_object_new_string(p->keyset_id));
		json_object_object_add(j, "secret", json_object_new_string(p->secret));
		json_object_object_add(j, "C", json_object_new_string(p->C));
		if (p->dleq.present) {
			struct json_object *d = json_object_new_object();

			json_object_object_add(d, "e", json_object_new_string(p->dleq.e));
			json_object_object_add(d, "s", json_object_new_string(p->dleq.s));
			if (p->dleq.r[0])
				json_object_object_add(d, "r", json_object_new_string(p->dleq.r));
			json_object_object_add(j, "dleq", d);
		}
		if (p->witness)
			json_object_object_add(j, "witness", json_object_new_string(p->witness));
		if (p->p2pk_e[0])
			json_object_object_add(j, "p2pk_e", json_object_new_string(p->p2pk_e));
		if (multi)
			json_object_object_add(j, "mint", json_object_new_string(p->mint));
		json_object_array_add(arr, j);
	}
	json_object_object_add(o, "proofs", arr);
	return o;
}

int
cli_decode_token(int argc, char **argv)
{
	struct cashu_token t;
	struct json_object *o;
	enum cashu_token_err te;
	char *in = NULL;
	const char *text;
	int rc = 1;

	memset(&t, 0, sizeof(t));
	if (argc != 2) {
		fprintf(stderr, "usage: routstrctl decode-token TOKEN|-\n");
		return 2;
	}
	text = argv[1];
	if (strcmp(text, "-") == 0) {
		in = read_stdin();
		if (in == NULL) {
			fprintf(stderr, "routstrctl: token on stdin is too long\n");
			return 1;
		}
		text = in;
	}
	te = cashu_token_decode(text, strlen(text), &t);
	if (te != CASHU_TOK_OK) {
		fprintf(stderr, "routstrctl: invalid token: %s\n", cashu_token_strerror(te));
		goto out;
	}
	o = token_json(&t);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	rc = 0;
out:
	cashu_token_free(&t);
	free(in);
	return rc;
}

static int
wallet_show(struct wallet_ctx *w)
{
	struct wallet_balance *b = NULL;
	size_t n = 0, i;

	if (wallet_balance(w, &b, &n) != MINT_OK) {
		fprintf(stderr, "routstrctl: cannot read the wallet\n");
		return 1;
	}
	if (n == 0)
		printf("wallet is empty\n");
	for (i = 0; i < n; i++)
		printf("%s %s unspent %llu (%zu proofs) pending %llu\n", b[i].mint, b[i].unit,
		    (unsigned long long)b[i].unspent, b[i].nproofs, (unsigned long long)b[i].pending);
	free(b);
	return 0;
}

static int
wallet_do_recover(struct wallet_ctx *w, int64_t min_age)
{
	struct wallet_recover_stats st;
	struct mint_error e = { 0 };
	enum mint_err rc;

	rc = wallet_recover(w, min_age, &st, &e);
	printf("recovery: %d examined, %d done, %d failed (rolled back), %d still open\n",
	    st.examined, st.done, st.failed, st.left);
	if (rc != MINT_OK)
		fprintf(stderr, "routstrctl: some operations remain open: %s: %s\n", mint_err_name(rc),
		    e.detail);
	return rc == MINT_OK ? 0 : 1;
}

int
cli_wallet(int argc, char **argv)
{
	struct wallet_ctx w;
	struct upstream *up = NULL;
	struct db *db = NULL;
	int64_t min_age = -1;
	int rc = 2, i;
	bool recover = false;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "recover") == 0) {
			recover = true;
		} else if (strcmp(argv[i], "--min-age") == 0 && i + 1 < argc &&
		    parse_i64(argv[i + 1], 0, 86400 * 365, &min_age) == 0) {
			i++;
		} else {
			fprintf(stderr, "usage: routstrctl wallet [recover [--min-age SECONDS]]\n");
			return 2;
		}
	}
	if ((db = cli_open_db()) == NULL)
		return 1;
	if (recover) {
		upstream_global_init();
		up = upstream_new();
	}
	wallet_ctx_init(&w, db, up);
	if (recover) {
		/* Leave alone what a live worker may still be doing: one full
		 * round of attempts plus a margin. */
		if (min_age < 0)
			min_age = (int64_t)w.timeout_s * w.max_attempts + 60;
		rc = up ? wallet_do_recover(&w, min_age) : 1;
		if (rc != 2)
			wallet_show(&w);
	} else {
		rc = wallet_show(&w);
	}
	upstream_free(up);
	if (recover)
		upstream_global_cleanup();
	db_close(db);
	return rc;
}
