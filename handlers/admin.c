/* admin: the operator's dashboard pages (server-rendered from templates/):
 * login and logout, the overview, API keys, and the static files. Money
 * pages are in admin_money.c, providers and settings in admin_setup.c.
 * Every route here is AUTH_ADMIN in the route table (but the login page and
 * the static files), so the dispatcher has checked the session and, for
 * anything but a read, its CSRF token before these run (admin_gate.c). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "admin_auth.h"
#include "admin_gate.h"
#include "admin_view.h"
#include "conf.h"
#include "handlers.h"
#include "funds.h"
#include "ledger.h"
#include "lnurl.h"
#include "log.h"
#include "report.h"
#include "server.h"
#include "util.h"

void
admin_time(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL) {
		snprintf(out, 32, "-");
		return;
	}
	strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm);
}

/* ------------------------------------------------------------ static */

void
h_admin_static(struct req *r)
{
	const char *name = r->path + strlen("/admin/static/");

	if (strcmp(name, "style.css") != 0 && strcmp(name, "app.js") != 0) {
		resp_error(r, 404, "not_found", NULL, "No such file");
		return;
	}
	admin_static(r, name);
}

/* ------------------------------------------------------------ login */

static void
login_page(struct req *r, int status, const char *error)
{
	struct view v;

	view_init(&v);
	view_set(&v, AK_title, "Log in");
	if (error)
		view_set(&v, AK_error, "%s", error);
	admin_render(r, status, "login", &v);
	view_free(&v);
}

static void
set_cookie(struct req *r, const char *value, int64_t max_age)
{
	char *c = xasprintf("%s=%s; Path=%s/admin; Max-Age=%lld; HttpOnly; SameSite=Strict%s",
	    ADMIN_COOKIE, value, req_prefix(r), (long long)max_age, r->https ? "; Secure" : "");

	resp_header(r, "Set-Cookie", c);
	free(c);
}

void
h_admin_login(struct req *r)
{
	struct admin_session s;
	int64_t now = wall_sec(), retry = 0, gen = 0;
	const char *ip = r->remote_addr ? r->remote_addr : "";
	char *pw, ra[24];
	enum rerr e;
	int allowed;

	if (r->method == HTTP_GET) {
		if (admin_session_of(r, &s)) {
			admin_redirect(r, "/admin/");
			return;
		}
		login_page(r, 200, NULL);
		return;
	}
	allowed = admin_login_allowed(r->worker->db, ip, now, &retry);
	if (allowed <= 0) {
		snprintf(ra, sizeof(ra), "%lld", (long long)(retry > 0 ? retry : 60));
		resp_header(r, "Retry-After", ra);
		login_page(r, 429, "Too many attempts. Try again later.");
		return;
	}
	pw = admin_form(r, "password", ADMIN_PASSWORD_MAX, false);
	e = pw ? admin_password_check(r->worker->db, pw, &gen) : RERR_INVALID;
	free(pw);
	admin_login_record(r->worker->db, ip, now, e == RERR_OK);
	if (e != RERR_OK) {
		log_warn("request %s: dashboard login refused for %s", r->id, ip);
		login_page(r, 401, "Wrong password.");
		return;
	}
	if (admin_session_create(r->worker->db, gen, now, &s) != RERR_OK) {
		login_page(r, 500, "The session could not be started.");
		return;
	}
	log_info("request %s: dashboard login from %s", r->id, ip);
	set_cookie(r, s.id, ADMIN_SESSION_LIFETIME);
	admin_redirect(r, "/admin/");
}

void
h_admin_logout(struct req *r)
{
	struct admin_session s;

	if (admin_session_of(r, &s))
		admin_session_delete(r->worker->db, s.id);
	set_cookie(r, "", 0);
	admin_redirect(r, "/admin/login");
}

/* ------------------------------------------------------------ overview */

/* An inline SVG of nb buckets: requests as bars, revenue as a line, each
 * scaled to its own maximum. Only numbers this code computed go in. */
static char *
chart(const struct report_bucket *b, size_t nb)
{
	const int w = 600, h = 120, pad = 4;
	int64_t maxr = 1, maxv = 1;
	struct buf out;
	size_t i;
	char *s;
	double bw = (double)(w - 2 * pad) / (double)nb;

	for (i = 0; i < nb; i++) {
		if (b[i].requests > maxr)
			maxr = b[i].requests;
		if (b[i].revenue_msat > maxv)
			maxv = b[i].revenue_msat;
	}
	buf_init(&out, 64 * 1024);
	buf_printf(&out, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
	    "role=\"img\" aria-label=\"chart\"><line class=\"axis\" x1=\"0\" y1=\"%d\" x2=\"%d\" "
	    "y2=\"%d\"/>", w, h, h - pad, w, h - pad);
	for (i = 0; i < nb; i++) {
		double bh = (double)(h - 2 * pad) * (double)b[i].requests / (double)maxr;

		buf_printf(&out, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		    "height=\"%.1f\"><title>%lld requests</title></rect>", pad + bw * (double)i + 1,
		    (double)(h - pad) - bh, bw > 2 ? bw - 2 : bw, bh, (long long)b[i].requests);
	}
	buf_printf(&out, "<polyline class=\"line\" points=\"");
	for (i = 0; i < nb; i++)
		buf_printf(&out, "%.1f,%.1f ", pad + bw * ((double)i + 0.5),
		    (double)(h - pad) - (double)(h - 2 * pad) * (double)b[i].revenue_msat /
		    (double)maxv);
	buf_printf(&out, "\"/></svg>");
	s = xstrndup(out.data ? out.data : "", out.len);
	buf_free(&out);
	return s;
}

static void
usage(struct req *r, struct view *v, int64_t width, size_t nb, enum admin_key kreq,
    enum admin_key krev, enum admin_key kchart)
{
	struct report_bucket *b = xcalloc(nb, sizeof(*b));
	int64_t nreq = 0, rev = 0;
	size_t i;

	if (report_usage(r->worker->db, wall_sec(), width, b, nb) == RERR_OK)
		for (i = 0; i < nb; i++) {
			nreq += b[i].requests;
			rev += b[i].revenue_msat;
		}
	view_set(v, kreq, "%lld", (long long)nreq);
	view_set(v, krev, "%lld", (long long)(rev / 1000));
	view_set_markup_UNSAFE(v, kchart, chart(b, nb));
	free(b);
}

void
h_admin_overview(struct req *r)
{
	struct ledger_earnings *rows = xcalloc(LEDGER_EARNINGS_MAX, sizeof(*rows));
	struct ledger_books b;
	struct view v;
	size_t n = 0, i, row;
	int64_t earned = 0;

	view_init(&v);
	view_set(&v, AK_title, "Overview");
	view_flag(&v, AK_nav_overview, true);
	if (ledger_books(r->worker->db, &b) == RERR_OK) {
		view_set(&v, AK_wallet_sats, "%lld", (long long)(b.wallet / 1000));
		view_set(&v, AK_users_sats, "%lld", (long long)(b.users / 1000));
		if (b.wallet == b.owed)
			view_set(&v, AK_books, "closed");
		else
			view_set(&v, AK_books, "%s %lld msat", b.wallet > b.owed ? "surplus" : "deficit",
			    (long long)(b.wallet > b.owed ? b.wallet - b.owed : b.owed - b.wallet));
	}
	if (ledger_earnings(r->worker->db, conf_str(conf_get(), CONF_PRIMARY_MINT_URL), rows,
	    LEDGER_EARNINGS_MAX, &n) == RERR_OK) {
		for (i = 0; i < n; i++) {
			row = view_row(&v, AK_mints);
			view_cell(&v, AK_mints, row, AK_m_mint, "%s", rows[i].mint);
			view_cell(&v, AK_mints, row, AK_m_unit, "%s", rows[i].unit);
			view_cell(&v, AK_mints, row, AK_m_held, "%lld", (long long)rows[i].held);
			view_cell(&v, AK_mints, row, AK_m_users, "%lld", (long long)rows[i].users);
			view_cell(&v, AK_mints, row, AK_m_pending, "%lld", (long long)rows[i].pending);
			view_cell(&v, AK_mints, row, AK_m_earned, "%lld", (long long)rows[i].earned);
			earned += rows[i].earned;
		}
	}
	view_set(&v, AK_earned_sats, "%lld", (long long)(earned / 1000));
	usage(r, &v, 3600, 24, AK_req_24h, AK_rev_24h, AK_chart_24h);
	usage(r, &v, 86400, 30, AK_req_30d, AK_rev_30d, AK_chart_30d);
	admin_render(r, 200, "overview", &v);
	view_free(&v);
	free(rows);
}

/* ------------------------------------------------------------ keys */

#define KEYS_PAGE 100
#define KEY_JOURNAL 200

void
h_admin_keys(struct req *r)
{
	struct report_key *rows = xcalloc(KEYS_PAGE, sizeof(*rows));
	char *q = admin_form(r, "q", 128, true), when[32];
	int64_t total = 0, held = 0;
	struct view v;
	size_t n = 0, i, row;

	view_init(&v);
	view_set(&v, AK_title, "API keys");
	view_flag(&v, AK_nav_keys, true);
	view_set(&v, AK_q, "%s", q ? q : "");
	if (report_keys(r->worker->db, q, 0, rows, KEYS_PAGE, &n, &total, &held) != RERR_OK)
		view_set(&v, AK_error, "The keys could not be read.");
	view_set(&v, AK_keys_total, "%lld", (long long)total);
	view_set(&v, AK_keys_balance, "%lld", (long long)held);
	for (i = 0; i < n; i++) {
		row = view_row(&v, AK_keys);
		view_cell(&v, AK_keys, row, AK_k_hash, "%s", rows[i].hash);
		view_cell(&v, AK_keys, row, AK_k_short, "%.16s", rows[i].hash);
		if (rows[i].parent[0])
			view_cell(&v, AK_keys, row, AK_k_child, "%s", "");
		view_cell(&v, AK_keys, row, AK_k_balance, "%lld", (long long)rows[i].balance);
		view_cell(&v, AK_keys, row, AK_k_spent, "%lld", (long long)rows[i].total_spent);
		view_cell(&v, AK_keys, row, AK_k_requests, "%lld", (long long)rows[i].total_requests);
		view_cell(&v, AK_keys, row, AK_k_refund, "%s", rows[i].refund_address);
		admin_time(rows[i].created_at, when);
		view_cell(&v, AK_keys, row, AK_k_created, "%s", when);
	}
	admin_render(r, 200, "keys", &v);
	view_free(&v);
	free(rows);
	free(q);
}

/* The key hash in a path under /admin/keys/: [0-9A-Za-z_-], 1..128. */
static bool
hash_of(const char *p, size_t n, char out[LEDGER_KEY_MAX + 1])
{
	size_t i;

	if (n == 0 || n > LEDGER_KEY_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'z') ||
		    (p[i] >= 'A' && p[i] <= 'Z') || p[i] == '_' || p[i] == '-'))
			return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

static void
key_page_token(struct req *r, const char *hash, const char *flash, const char *error,
    const char *token);

static void
key_page(struct req *r, const char *hash, const char *flash, const char *error)
{
	key_page_token(r, hash, flash, error, NULL);
}

static void
key_page_token(struct req *r, const char *hash, const char *flash, const char *error,
    const char *token)
{
	struct report_journal *j = xcalloc(KEY_JOURNAL, sizeof(*j));
	struct ledger_key k;
	struct view v;
	char when[32];
	size_t n = 0, i, row;

	view_init(&v);
	view_flag(&v, AK_nav_keys, true);
	if (ledger_key_get(r->worker->db, hash, &k, NULL) != RERR_OK) {
		view_set(&v, AK_title, "No such key");
		view_set(&v, AK_error, "There is no key with this hash.");
		admin_render(r, 404, "keys", &v);
		goto out;
	}
	view_set(&v, AK_title, "Key %.16s", k.hashed_key);
	if (flash)
		view_set(&v, AK_flash, "%s", flash);
	if (error)
		view_set(&v, AK_error, "%s", error);
	view_set(&v, AK_k_hash, "%s", k.hashed_key);
	view_set(&v, AK_k_balance, "%lld", (long long)k.balance);
	view_set(&v, AK_k_reserved, "%lld", (long long)k.reserved);
	view_set(&v, AK_k_spent, "%lld", (long long)k.total_spent);
	view_set(&v, AK_k_requests, "%lld", (long long)k.total_requests);
	view_set(&v, AK_k_parent, "%s", k.parent[0] ? k.parent : "- (billing key)");
	view_set(&v, AK_k_mint, "%s", k.refund_mint_url[0] ? k.refund_mint_url : "primary");
	view_set(&v, AK_k_unit, "%s", k.refund_currency[0] ? k.refund_currency : "sat");
	view_set(&v, AK_k_refund, "%s", k.refund_address[0] ? k.refund_address : "-");
	admin_time(k.key_expiry_time, when);
	view_set(&v, AK_k_expiry, "%s", when);
	admin_time(k.created_at, when);
	view_set(&v, AK_k_created, "%s", when);
	if (k.lim.has_limit)
		view_set(&v, AK_k_limit, "%lld", (long long)k.lim.balance_limit);
	if (k.lim.has_validity)
		view_set(&v, AK_k_validity, "%lld", (long long)k.lim.validity_date);
	view_set(&v, AK_k_refund_input, "%s", k.refund_address);
	if (k.key_expiry_time >= 0)
		view_set(&v, AK_k_expiry_input, "%lld", (long long)k.key_expiry_time);
	if (token) {
		char *qr = admin_qr_svg(token);

		view_set(&v, AK_k_token, "%s", token);
		if (qr)
			view_set_markup_UNSAFE(&v, AK_k_token_qr, qr);
	}
	view_flag(&v, AK_reset_none, k.lim.reset == LEDGER_RESET_NONE);
	view_flag(&v, AK_reset_daily, k.lim.reset == LEDGER_RESET_DAILY);
	view_flag(&v, AK_reset_weekly, k.lim.reset == LEDGER_RESET_WEEKLY);
	view_flag(&v, AK_reset_monthly, k.lim.reset == LEDGER_RESET_MONTHLY);
	if (report_journal(r->worker->db, hash, j, KEY_JOURNAL, &n) == RERR_OK)
		for (i = 0; i < n; i++) {
			row = view_row(&v, AK_journal);
			admin_time(j[i].created_at, when);
			view_cell(&v, AK_journal, row, AK_j_at, "%s", when);
			view_cell(&v, AK_journal, row, AK_j_kind, "%s", j[i].kind);
			view_cell(&v, AK_journal, row, AK_j_delta, "%+lld", (long long)j[i].delta);
			view_cell(&v, AK_journal, row, AK_j_ref, "%s", j[i].ref);
		}
	admin_render(r, 200, "key", &v);
out:
	view_free(&v);
	free(j);
}

/* An optional whole number from a form field: 1 set, 0 empty or absent,
 * -1 malformed. */
static int
form_int(const struct req *r, const char *name, int64_t min, int64_t max, int64_t *out)
{
	char *s = admin_form(r, name, 32, false);
	int rc = 0;

	if (s && *s)
		rc = parse_i64(s, min, max, out) == 0 ? 1 : -1;
	free(s);
	return rc;
}

static void
key_limits(struct req *r, const char *hash)
{
	struct ledger_limits lim;
	char *reset = admin_form(r, "balance_limit_reset", 16, false);
	int a, b;
	enum rerr e;

	memset(&lim, 0, sizeof(lim));
	a = form_int(r, "balance_limit", 0, INT64_MAX / 2, &lim.balance_limit);
	b = form_int(r, "validity_date", 0, INT64_MAX / 2, &lim.validity_date);
	lim.has_limit = a == 1;
	lim.has_validity = b == 1;
	lim.reset = reset && *reset ? ledger_reset_parse(reset) : LEDGER_RESET_NONE;
	if (a < 0 || b < 0 || (reset && *reset && lim.reset == LEDGER_RESET_NONE)) {
		free(reset);
		key_page(r, hash, NULL, "Limits must be whole numbers; the reset one of daily, weekly, "
		    "monthly.");
		return;
	}
	free(reset);
	{
		char *addr = admin_form(r, "refund_address", LEDGER_TEXT_MAX, false), url[2048];
		int64_t exp = -1;
		int c = form_int(r, "key_expiry_time", 0, INT64_MAX / 2, &exp);

		if (c < 0 || (addr && *addr && lnurl_resolve(addr, conf_bool(conf_get(),
		    CONF_LNURL_ALLOW_HTTP), url, sizeof(url)) != 0)) {
			free(addr);
			key_page(r, hash, NULL, "The refund address must be a Lightning address or "
			    "LNURL, the expiry a Unix time.");
			return;
		}
		if (((addr && *addr) || c == 1) && ledger_key_set_refund(r->worker->db, hash,
		    addr && *addr ? addr : NULL, c == 1 ? exp : -1) != RERR_OK) {
			free(addr);
			key_page(r, hash, NULL, "The refund address could not be saved.");
			return;
		}
		free(addr);
	}
	e = ledger_key_set_limits(r->worker->db, hash, &lim);
	if (e != RERR_OK) {
		key_page(r, hash, NULL, "The limits could not be saved.");
		return;
	}
	log_info("request %s: dashboard: limits of key %.8s changed", r->id, hash);
	key_page(r, hash, "Limits saved.", NULL);
}

/* /admin: every page is one level under /admin/ (the layout's static
 * files are relative to it: keep new pages there too). */
void
h_admin_root(struct req *r)
{
	admin_redirect(r, "/admin/");
}

void
h_admin_key(struct req *r)
{
	char *q = admin_form(r, "hash", LEDGER_KEY_MAX, true);
	char hash[LEDGER_KEY_MAX + 1];

	if (q == NULL || !hash_of(q, strlen(q), hash)) {
		free(q);
		resp_error(r, 404, "not_found", NULL, "No such key");
		return;
	}
	free(q);
	key_page(r, hash, NULL, NULL);
}

void
h_admin_key_limits(struct req *r)
{
	char *q = admin_form(r, "hash", LEDGER_KEY_MAX, false);
	char hash[LEDGER_KEY_MAX + 1];

	if (q == NULL || !hash_of(q, strlen(q), hash)) {
		free(q);
		resp_error(r, 404, "not_found", NULL, "No such key");
		return;
	}
	free(q);
	key_limits(r, hash);
}

/* POST /admin/key-refund: the key's balance as a token of its mint, made
 * as the key's own refund (the same withdrawal, offered again to its holder
 * until redeemed). */
void
h_admin_key_refund(struct req *r)
{
	char *q = admin_form(r, "hash", LEDGER_KEY_MAX, false), msg[96];
	char hash[LEDGER_KEY_MAX + 1];
	struct funds_ctx fc = { r->worker->db, r->worker->up, r->id };
	struct funds_withdrawal w;
	struct ledger_key k;
	enum funds_status fs;

	if (q == NULL || !hash_of(q, strlen(q), hash) ||
	    ledger_key_get(r->worker->db, hash, &k, NULL) != RERR_OK) {
		free(q);
		resp_error(r, 404, "not_found", NULL, "No such key");
		return;
	}
	free(q);
	memset(&w, 0, sizeof(w));
	fs = funds_withdraw(&fc, &k, "apikey", &w);
	if (fs != FUNDS_OK) {
		key_page(r, hash, NULL, fs == FUNDS_BUSY ? "The key has requests in flight." :
		    fs == FUNDS_NOTHING || fs == FUNDS_TOO_SMALL ? "Nothing to refund." :
		    fs == FUNDS_INVALID ? "A child key has no balance of its own." :
		    "The mint did not make the token; the balance stays on the key.");
		free(w.token);
		return;
	}
	log_info("request %s: dashboard: key %.8s refunded as a token (%lld msat)", r->id, hash,
	    (long long)w.msat);
	snprintf(msg, sizeof(msg), "Refunded %lld msat as a token.", (long long)w.msat);
	key_page_token(r, hash, msg, NULL, w.token);
	free(w.token);
}
