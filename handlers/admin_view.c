/* admin_view: see admin_view.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_assets.h"
#include "admin_view.h"
#include <qrencode.h>
#include "buf.h"
#include "conf.h"
#include "log.h"
#include "template.h"
#include "util.h"

#define PAGE_MAX (4u * 1024 * 1024)	/* one rendered page */

#define ADMIN_KEY_NAME(n) #n,
static const char *const key_names[AK__MAX] = { ADMIN_KEYS(ADMIN_KEY_NAME) };
#undef ADMIN_KEY_NAME

static struct tmpl_set *templates;

int
admin_view_init(void)
{
	struct tmpl_err err;

	if (templates)
		return 0;
	templates = tmpl_load_mem(admin_templates, admin_templates_count, key_names, AK__MAX, &err);
	if (templates == NULL) {
		log_error("dashboard templates: %s", err.msg);
		return -1;
	}
	return 0;
}

void
view_init(struct view *v)
{
	memset(v, 0, sizeof(*v));
}

void
view_free(struct view *v)
{
	size_t k, i;

	for (k = 0; k < AK__MAX; k++) {
		free(v->v[k]);
		for (i = 0; i < v->rows[k].n * AK__MAX; i++)
			free(v->rows[k].cells[i]);
		free(v->rows[k].cells);
	}
	memset(v, 0, sizeof(*v));
}

static char *
vfmt(const char *fmt, va_list ap)
{
	va_list cp;
	char *s;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return xstrdup("");
	s = xmalloc((size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

void
view_set(struct view *v, enum admin_key k, const char *fmt, ...)
{
	va_list ap;

	free(v->v[k]);
	va_start(ap, fmt);
	v->v[k] = vfmt(fmt, ap);
	va_end(ap);
	v->raw[k] = false;
}

void
view_set_markup_UNSAFE(struct view *v, enum admin_key k, char *owned)
{
	free(v->v[k]);
	v->v[k] = owned;
	v->raw[k] = true;
}

void
view_flag(struct view *v, enum admin_key k, bool on)
{
	free(v->v[k]);
	v->v[k] = on ? xstrdup("") : NULL;
}

size_t
view_row(struct view *v, enum admin_key s)
{
	struct view_rows *rw = &v->rows[s];

	if (rw->n == rw->cap) {
		rw->cap = rw->cap ? rw->cap * 2 : 16;
		rw->cells = xrealloc(rw->cells, rw->cap * AK__MAX * sizeof(*rw->cells));
	}
	memset(&rw->cells[rw->n * AK__MAX], 0, AK__MAX * sizeof(*rw->cells));
	return rw->n++;
}

void
view_cell(struct view *v, enum admin_key s, size_t row, enum admin_key k, const char *fmt, ...)
{
	struct view_rows *rw = &v->rows[s];
	char **cell;
	va_list ap;

	if (row >= rw->n)
		return;
	cell = &rw->cells[row * AK__MAX + k];
	free(*cell);
	va_start(ap, fmt);
	*cell = vfmt(fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ rendering */

/* A key's value where the render is: the cell of the innermost repeating
 * section it belongs to, else the page's value. */
static const char *
lookup(const struct view *v, size_t k, const struct tmpl_out *w, bool *raw)
{
	size_t s, i;

	*raw = false;
	for (s = 0; s < AK__MAX; s++) {
		if (v->rows[s].n == 0)
			continue;
		i = tmpl_index(w, s);
		if (i != (size_t)-1 && i < v->rows[s].n && v->rows[s].cells[i * AK__MAX + k])
			return v->rows[s].cells[i * AK__MAX + k];
	}
	*raw = v->raw[k];
	return v->v[k];
}

static int
value_cb(size_t key, struct tmpl_out *w, void *arg)
{
	const struct view *v = arg;
	bool raw;
	const char *s = lookup(v, key, w, &raw);

	if (s == NULL)
		return 0;
	return raw ? tmpl_write_raw_UNSAFE(w, s, strlen(s)) : tmpl_puts(w, s);
}

static size_t
count_cb(size_t key, const struct tmpl_out *w, void *arg)
{
	const struct view *v = arg;
	bool raw;

	if (v->rows[key].n)
		return v->rows[key].n;
	return lookup(v, key, w, &raw) != NULL;
}

/* The headers of every dashboard page: no script or style but our own, no
 * framing, no referrer, never cached (pages show balances and tokens). */
static void
security_headers(struct req *r)
{
	resp_header(r, "Content-Security-Policy", "default-src 'none'; style-src 'self'; "
	    "script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
	    "base-uri 'none'");
	resp_header(r, "X-Frame-Options", "DENY");
	resp_header(r, "X-Content-Type-Options", "nosniff");
	resp_header(r, "Referrer-Policy", "no-referrer");
	resp_header(r, "Cross-Origin-Opener-Policy", "same-origin");
}

void
admin_render(struct req *r, int status, const char *page, struct view *v)
{
	const struct conf *c = conf_get();
	struct tmpl_data d = { value_cb, count_cb, v };
	struct buf out;

	if (v->v[AK_prefix] == NULL)
		view_set(v, AK_prefix, "%s", req_prefix(r));
	view_set(v, AK_node_name, "%s", *conf_str(c, CONF_NAME) ? conf_str(c, CONF_NAME) :
	    "Routstr node");
	view_set(v, AK_version, "%s", ROUTSTR_VERSION);
	if (r->csrf[0]) {
		view_set(v, AK_csrf, "%s", r->csrf);
		view_flag(v, AK_signed_in, true);
	}
	buf_init(&out, PAGE_MAX);
	if (admin_view_init() != 0 || tmpl_render(templates, page, "layout", &d, tmpl_sink_buf,
	    &out) != 0) {
		log_error("request %s: page %s did not render", r->id, page);
		buf_free(&out);
		resp_status(r, 500);
		resp_header(r, "Content-Type", "text/plain; charset=utf-8");
		security_headers(r);
		resp_write(r, "The page could not be rendered.\n", 32);
		return;
	}
	resp_status(r, status);
	resp_header(r, "Content-Type", "text/html; charset=utf-8");
	security_headers(r);
	resp_write(r, out.data, out.len);
	buf_free(&out);
}

void
admin_redirect(struct req *r, const char *path)
{
	char *to = xasprintf("%s%s", req_prefix(r), path);

	resp_status(r, 303);
	resp_header(r, "Location", to);
	resp_header(r, "Content-Type", "text/plain; charset=utf-8");
	security_headers(r);
	resp_write(r, "See Other\n", 10);
	free(to);
}

/* ------------------------------------------------------------ forms */

/* Decode one urlencoded component of n bytes: a new string, or NULL when
 * it holds a bad escape, a NUL or invalid UTF-8. */
static char *
form_decode(const char *p, size_t n)
{
	char *s = pct_decode(p, n, true);

	if (s && !utf8_valid(s, strlen(s))) {
		free(s);
		return NULL;
	}
	return s;
}

char *
admin_form(const struct req *r, const char *name, size_t max, bool from_query)
{
	const char *p = from_query ? r->query : r->body, *end, *amp, *eq;
	size_t nlen = strlen(name);
	char *v;

	if (p == NULL)
		return NULL;
	end = p + (from_query ? strlen(p) : r->body_len);
	while (p < end) {
		amp = memchr(p, '&', (size_t)(end - p));
		if (amp == NULL)
			amp = end;
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq && (size_t)(eq - p) == nlen && memcmp(p, name, nlen) == 0) {
			if ((size_t)(amp - eq - 1) > max * 3)
				return NULL;
			v = form_decode(eq + 1, (size_t)(amp - eq - 1));
			if (v && strlen(v) > max) {
				free(v);
				return NULL;
			}
			return v;
		}
		p = amp + 1;
	}
	return NULL;
}

void
admin_static(struct req *r, const char *name)
{
	const char *body = strcmp(name, "style.css") == 0 ? admin_style_css : admin_app_js;

	resp_status(r, 200);
	resp_header(r, "Content-Type", strcmp(name, "style.css") == 0 ?
	    "text/css; charset=utf-8" : "text/javascript; charset=utf-8");
	resp_header(r, "X-Content-Type-Options", "nosniff");
	resp_write(r, body, strlen(body));
}

char *
admin_qr_svg(const char *text)
{
	QRcode *q = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_L);
	struct buf out;
	int x, y, quiet = 4, size;
	char *svg;

	if (q == NULL)
		return NULL;
	size = q->width + 2 * quiet;
	buf_init(&out, 4u * 1024 * 1024);
	buf_printf(&out, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
	    "class=\"qr\" role=\"img\" aria-label=\"QR code\" shape-rendering=\"crispEdges\">"
	    "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"", size, size,
	    size, size);
	/* One path of unit squares: only numbers this code computed. */
	for (y = 0; y < q->width; y++)
		for (x = 0; x < q->width; x++)
			if (q->data[y * q->width + x] & 1)
				buf_printf(&out, "M%d %dh1v1h-1z", x + quiet, y + quiet);
	buf_printf(&out, "\"/></svg>");
	QRcode_free(q);
	svg = xstrndup(out.data ? out.data : "", out.len);
	buf_free(&out);
	return svg;
}
