/* admin_view: how the dashboard's pages are put together. A handler fills a
 * struct view (text values and rows of text, all copied in) and renders a
 * page of templates/ through lib/template.c inside the one layout; this
 * file owns the key table, the security headers, the form decoder and the
 * redirects, so no page handler writes HTML or escapes anything itself.
 *
 * Who owns what: a view owns every string put in it (view_free); the
 * compiled templates are loaded once per process (admin_view_init) and only
 * read afterwards, by any number of threads. */
#ifndef ROUTSTR_ADMIN_VIEW_H
#define ROUTSTR_ADMIN_VIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

/* Every marker any template uses. Sections that repeat (rows) are marked
 * R; a row's cells are the keys set on it with view_cell. */
#define ADMIN_KEYS(X) \
	X(prefix) X(csrf) X(title) X(node_name) X(version) X(flash) X(error) X(signed_in) \
	X(nav_overview) X(nav_keys) X(nav_withdraw) X(nav_providers) X(nav_settings) \
	X(nav_transactions) X(nav_logs) X(nav_payouts) X(nav_models) X(q) \
	X(models) X(md_id) X(md_upstream) X(md_prompt) X(md_completion) X(md_source) \
	X(hidden) X(hd_id) \
	X(wallet_sats) X(users_sats) X(earned_sats) X(books) \
	X(mints) X(m_mint) X(m_unit) X(m_held) X(m_users) X(m_pending) X(m_earned) \
	X(req_24h) X(rev_24h) X(chart_24h) X(req_30d) X(rev_30d) X(chart_30d) \
	X(keys) X(keys_total) X(keys_balance) X(k_hash) X(k_short) X(k_child) X(k_balance) \
	X(k_reserved) X(k_spent) X(k_requests) X(k_parent) X(k_mint) X(k_unit) X(k_refund) \
	X(k_expiry) X(k_created) X(k_limit) X(k_validity) X(k_refund_input) X(k_expiry_input) X(k_token) X(k_token_qr) \
	X(reset_none) X(reset_daily) X(reset_weekly) X(reset_monthly) \
	X(journal) X(j_at) X(j_kind) X(j_delta) X(j_ref) \
	X(token) X(token_amount) X(token_unit) X(token_mint) X(token_qr) X(payable) \
	X(mint_opts) X(o_mint) X(o_earned) \
	X(receive_address) X(min_payout) X(payout_interval) \
	X(payouts) X(p_id) X(p_at) X(p_trigger) X(p_dest) X(p_amount) X(p_spent) X(p_state) \
	X(txs) X(t_id) X(t_at) X(t_dir) X(t_source) X(t_amount) X(t_unit) X(t_mint) X(t_key) \
	X(t_status) \
	X(invoices) X(i_id) X(i_at) X(i_purpose) X(i_sats) X(i_status) X(i_key) \
	X(reqs) X(r_id) X(r_at) X(r_model) X(r_reserved) X(r_charged) X(r_state) X(r_key) \
	X(providers) X(pv_slug) X(pv_type) X(pv_url) X(pv_fee) X(pv_priority) X(pv_state) \
	X(pv_toggle) X(pf_slug) X(pf_url) X(pf_fee) X(pf_priority) X(pf_openai) X(pf_openrouter) \
	X(pf_anthropic) X(pf_generic) \
	X(settings) X(s_name) X(s_value) X(s_source) X(s_help) X(s_editable) X(s_saved)

#define ADMIN_KEY_ENUM(n) AK_##n,
enum admin_key { ADMIN_KEYS(ADMIN_KEY_ENUM) AK__MAX };
#undef ADMIN_KEY_ENUM

struct view_rows {
	size_t n, cap;
	char **cells;			/* n * AK__MAX, NULL where not set */
};

struct view {
	char *v[AK__MAX];		/* values; NULL: unset (a section shows 0 times) */
	bool raw[AK__MAX];		/* the value is markup this code built (SVG) */
	struct view_rows rows[AK__MAX];	/* for repeating sections */
};

/* Compile the embedded templates (templates/, scripts/embed-templates.sh)
 * once per process. 0, or -1 (logged with file and line): the program must
 * not serve a broken dashboard. */
int admin_view_init(void);

void view_init(struct view *v);
void view_free(struct view *v);
void view_set(struct view *v, enum admin_key k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Markup built by this code (inline SVG charts): written as it is. The
 * caller must have escaped every text it put inside. */
void view_set_markup_UNSAFE(struct view *v, enum admin_key k, char *owned);
/* A section shown once (on) or not. */
void view_flag(struct view *v, enum admin_key k, bool on);
/* Append a row to repeating section s; returns its index. */
size_t view_row(struct view *v, enum admin_key s);
void view_cell(struct view *v, enum admin_key s, size_t row, enum admin_key k, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Render page (a template name) inside the layout with the common values
 * (prefix, node name, version, the session's CSRF token when signed in)
 * and send it with the dashboard's security headers (CSP, no framing,
 * no-store). status 200 normally. */
void admin_render(struct req *r, int status, const char *page, struct view *v);

/* 303 See Other to prefix + path (a path of the node, never client text). */
void admin_redirect(struct req *r, const char *path);

/* A field of the request's application/x-www-form-urlencoded body (or of
 * the query string with from_query), decoded; a new string the caller
 * frees, NULL when absent, not valid UTF-8, or longer than max bytes. */
char *admin_form(const struct req *r, const char *name, size_t max, bool from_query);

/* A QR code of text as inline SVG (libqrencode's matrix, drawn here from
 * numbers only): a new string, or NULL when the text does not fit one. */
char *admin_qr_svg(const char *text);

/* The static files: the stylesheet and the script, cacheable. */
void admin_static(struct req *r, const char *name);

#endif
