/* template: logic-free HTML templates, escaped by default (kcgi's template.c
 * is the model: markers, a key table, output through escapers).
 *
 * Templates are compiled once, at start-up, into a read-only set; rendering
 * parses nothing and may run in any number of threads at once.
 *
 * SYNTAX, for whoever writes the pages in templates/
 *
 *   {{name}}         the value of key "name", escaped for where it is: in
 *                    text, <textarea>, <title> and quoted attribute values
 *                    & < > " ' become entities. Where the value of a URL
 *                    attribute (href, src, action, formaction, poster,
 *                    cite, data, ...) starts, it must also be a relative
 *                    URL or begin with http:, https: or mailto: (any case;
 *                    a ':' before any '/' makes a scheme), or it is
 *                    replaced by "about:invalid". After a literal start
 *                    (href="/keys/{{id}}") it is only escaped. A value is
 *                    text: markers in it are never expanded.
 *   {{name|url}}     percent-encoded: every byte but A-Z a-z 0-9 - . _ ~
 *                    (a query or path component:
 *                    href="/keys?q={{q|url}}"). Inside a URL attribute,
 *                    after a literal '?' or '#', this form is required.
 *   {{#name}}...{{/name}}
 *                    a section: the code says how many times it shows
 *                    (0 hidden, 1 shown, n repeated; the values inside
 *                    know which time it is)
 *   {{^name}}...{{/name}}
 *                    shown only when section "name" would show 0 times.
 *                    A key may be both a section and a value:
 *                    {{#note}}<p>{{note}}</p>{{/note}}
 *   {{>name}}        the template name.html, included here
 *   {{>content}}     in a layout: the page being rendered goes here. One
 *                    layout (the <html>, head and navigation) wraps every
 *                    page; a page holds only its own <main> content.
 *
 * Names are letters, digits, '_' and '-', with no spaces: "{{ name }}" is an
 * error. There is no way to write a literal "{{" (write "&#123;&#123;").
 *
 * Where a marker may be:
 *   - a value ({{name}}, {{name|url}}): in text, <textarea>, <title>, and in
 *     a quoted attribute value, except on*, style, srcset and srcdoc (script,
 *     CSS, lists of URLs, HTML) and except where the URL starts in the URL
 *     attributes of <script>, <iframe>, <frame>, <embed>, <object>, <applet>,
 *     <base> and <link> (begin those with a literal path:
 *     src="/static/{{name|url}}.js"). Never in a tag or attribute name, an
 *     unquoted value, <script>, <style> or another raw-text element, or a
 *     comment; never right before a literal ':' that would make it a scheme.
 *   - a section ({{#name}}, {{^name}}, {{/name}}): where a value may, and
 *     inside a tag between attributes. Both ends must be in the same place
 *     (both in text, both between one tag's attributes, or both in one
 *     quoted value), and inside a tag a space, '/' or '>' must separate the
 *     marker from a name, so that showing it or not never joins two names:
 *     <input {{#on}}checked{{/on}}>, <option{{#sel}} selected{{/sel}}>,
 *     <tr class="row{{#odd}} odd{{/odd}}">.
 *   - a partial ({{>name}}): in text only. Every template begins in text and
 *     must end in text (not inside a tag, a comment or <script>).
 * Anything else is an error at load time, reported as "name.html:line: why",
 * as are a name missing from the key table or the templates, a section left
 * open or closed by another name, and partials that include each other; so
 * a broken template stops the program at start and fails the tests, never
 * a user's request.
 *
 * CODE
 *
 *	enum page_key { K_TITLE, K_ROWS, K_NAME, K__MAX };
 *	static const char *const keys[K__MAX] = { "title", "rows", "name" };
 *
 *	static int
 *	value(size_t key, struct tmpl_out *w, void *arg)
 *	{
 *		const struct page *p = arg;
 *
 *		switch (key) {
 *		case K_TITLE:
 *			return tmpl_puts(w, p->title);
 *		case K_NAME:
 *			return tmpl_puts(w, p->rows[tmpl_index(w, K_ROWS)].name);
 *		}
 *		return 0;
 *	}
 *
 *	static size_t
 *	count(size_t key, const struct tmpl_out *w, void *arg)
 *	{
 *		return key == K_ROWS ? ((const struct page *)arg)->nrows : 0;
 *	}
 *
 *	set = tmpl_load_dir("templates", keys, K__MAX, &err);	// at start-up
 *	struct tmpl_data d = { value, count, &page };
 *	tmpl_render(set, "keys", "layout", &d, tmpl_sink_buf, &buf);
 */
#ifndef ROUTSTR_TEMPLATE_H
#define ROUTSTR_TEMPLATE_H

#include <stddef.h>

/* Limits, checked at load time. */
#define TMPL_FILE_MAX (1024 * 1024)	/* bytes in one template */
#define TMPL_FILES_MAX 128		/* templates in one set */
#define TMPL_DEPTH_MAX 16		/* sections open at once */
#define TMPL_URL_MAX 8192		/* a longer URL value becomes about:invalid */

struct tmpl_set;	/* compiled templates; opaque */
struct tmpl_out;	/* the writer a value callback writes through; opaque */

/* A load error: line is 1-based (0 when the error is not about a line) and
 * msg reads "name:line: why", ready to log. */
struct tmpl_err {
	unsigned line;
	char msg[256];
};

/* One template in memory: name without ".html", NUL-terminated text. */
struct tmpl_src {
	const char *name;
	const char *text;
};

/* Where output goes: write n bytes, return 0 or -1 (the render stops). */
typedef int (*tmpl_sink_fn)(void *ud, const char *p, size_t n);

/* What a render asks of the code. keys are indexes into the key table the
 * set was loaded with.
 *   value: write the value of key through w (tmpl_puts and friends); return
 *          0, or -1 to stop the render (also return what a writer returned).
 *   count: how many times section key shows: 0 hidden, 1 shown, n repeated.
 *          May be NULL when no template rendered has sections.
 *   arg:   handed to both, borrowed. */
struct tmpl_data {
	int (*value)(size_t key, struct tmpl_out *w, void *arg);
	size_t (*count)(size_t key, const struct tmpl_out *w, void *arg);
	void *arg;
};

/* Compile templates. keys[0..nkeys) is the key table (borrowed for the call
 * only); a marker naming anything else is an error. Return the set, owned by
 * the caller (tmpl_free), or NULL with *err filled. */
struct tmpl_set *tmpl_load_mem(const struct tmpl_src *src, size_t nsrc,
    const char *const *keys, size_t nkeys, struct tmpl_err *err);
/* The same for every "*.html" file in dir, each named after its file. */
struct tmpl_set *tmpl_load_dir(const char *dir,
    const char *const *keys, size_t nkeys, struct tmpl_err *err);
void tmpl_free(struct tmpl_set *set);

/* Render template page into sink, inside template layout (its {{>content}}
 * is page) or alone when layout is NULL. Return 0, or -1 when a template
 * name is unknown, the sink or a callback failed, or a callback misused the
 * writer (logged). Output already written stays written. */
int tmpl_render(const struct tmpl_set *set, const char *page, const char *layout,
    const struct tmpl_data *d, tmpl_sink_fn sink, void *ud);

/* A sink appending to a struct buf (lib/buf.h) passed as ud; fails at the
 * buffer's cap. */
int tmpl_sink_buf(void *ud, const char *p, size_t n);

/* ---------------------------------------------------- inside a callback */

/* Write a value through the escaper of the marker's place. Invalid UTF-8
 * bytes and NUL become U+FFFD, so each call must hold whole characters.
 * Return 0 or -1 (then return -1 from the callback). */
int tmpl_write(struct tmpl_out *w, const char *p, size_t n);
/* The same for a NUL-terminated string; NULL writes nothing. */
int tmpl_puts(struct tmpl_out *w, const char *s);
int tmpl_printf(struct tmpl_out *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Write p unescaped. Only for HTML the code itself built from constants
 * (an inline SVG chart), never for anything a user, a peer or the database
 * gave; only in text (anywhere else the render fails). Still no NUL and no
 * invalid UTF-8. */
int tmpl_write_raw_UNSAFE(struct tmpl_out *w, const char *p, size_t n);

/* Which time (0-based) the innermost open section key is showing, for a
 * value or count callback inside it; (size_t)-1 outside any such section. */
size_t tmpl_index(const struct tmpl_out *w, size_t key);

#endif
