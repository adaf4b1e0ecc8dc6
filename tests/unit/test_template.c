/* Check suite for lib/template: escaping in text, attribute and URL
 * contexts and in {{name|url}}; a hostile value in every field; invalid
 * UTF-8 and NUL; sections repeated, hidden, inverted and nested, also inside
 * tags; partials and the layout; every load-time error with its line;
 * loading a directory; a whole page compared byte for byte. */
#include "config.h"

#include <check.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "template.h"
#include "testlib.h"
#include "util.h"

enum key { K_V, K_W, K_U, K_TITLE, K_ROWS, K_COLS, K_SHOW, K_I, K_J, K_RAW, K_SPLIT, K_FAIL,
	K_LONG, K__MAX };
static const char *const keys[K__MAX] = {
	[K_V] = "v", [K_W] = "w", [K_U] = "u", [K_TITLE] = "title", [K_ROWS] = "rows",
	[K_COLS] = "cols", [K_SHOW] = "show", [K_I] = "i", [K_J] = "j", [K_RAW] = "raw",
	[K_SPLIT] = "split", [K_FAIL] = "fail", [K_LONG] = "long",
};

/* What the callbacks give: a value per key (len 0: NUL-terminated), a count
 * per section; cols shows (index of rows + 1) times when cols_by_row. */
struct data {
	const char *val[K__MAX];
	size_t len[K__MAX];
	size_t count[K__MAX];
	int cols_by_row;
	int calls;
};

static int
value_cb(size_t key, struct tmpl_out *w, void *arg)
{
	struct data *d = arg;

	d->calls++;
	switch (key) {
	case K_I:
		return tmpl_printf(w, "%zu", tmpl_index(w, K_ROWS));
	case K_J:
		return tmpl_printf(w, "%zu", tmpl_index(w, K_COLS));
	case K_RAW:
		return tmpl_write_raw_UNSAFE(w, d->val[K_RAW], d->len[K_RAW] ? d->len[K_RAW] :
		    strlen(d->val[K_RAW]));
	case K_SPLIT:
		/* one value written in pieces is checked as a whole */
		if (tmpl_puts(w, "java") < 0 || tmpl_puts(w, "script") < 0)
			return -1;
		return tmpl_puts(w, ":alert(1)");
	case K_FAIL:
		return -1;
	case K_LONG:
		return tmpl_printf(w, "%0300d<", 7);
	default:
		if (d->len[key])
			return tmpl_write(w, d->val[key], d->len[key]);
		return tmpl_puts(w, d->val[key]);
	}
}

static size_t
count_cb(size_t key, const struct tmpl_out *w, void *arg)
{
	const struct data *d = arg;

	if (key == K_COLS && d->cols_by_row)
		return tmpl_index(w, K_ROWS) + 1;
	return d->count[key];
}

/* Load srcs (n of them) or fail the test with the load error. */
static struct tmpl_set *
load(const struct tmpl_src *srcs, size_t n)
{
	struct tmpl_err err;
	struct tmpl_set *set = tmpl_load_mem(srcs, n, keys, K__MAX, &err);

	ck_assert_msg(set != NULL, "load: %s", err.msg);
	return set;
}

/* Render page (in layout, or alone when NULL) into a new string the caller
 * frees; *rc gets tmpl_render's result. */
static char *
render_set(const struct tmpl_set *set, const char *page, const char *layout, struct data *d,
    int *rc, size_t *len)
{
	struct tmpl_data td = { value_cb, count_cb, d };
	struct buf b;
	char *out;

	buf_init(&b, 1 << 20);
	*rc = tmpl_render(set, page, layout, &td, tmpl_sink_buf, &b);
	out = buf_steal(&b, len);
	return out ? out : xstrdup("");
}

/* The one template text, rendered with d; the render must succeed. */
static char *
render(const char *text, struct data *d)
{
	struct tmpl_src src = { "t", text };
	struct tmpl_set *set = load(&src, 1);
	size_t len;
	int rc;
	char *out = render_set(set, "t", NULL, d, &rc, &len);

	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(strlen(out), len);	/* no NUL reached the output */
	tmpl_free(set);
	return out;
}

static void
ck_render(const char *text, struct data *d, const char *want)
{
	char *out = render(text, d);

	ck_assert_str_eq(out, want);
	free(out);
}

/* text with v set to value renders as want. */
static void
ck_v(const char *text, const char *value, const char *want)
{
	struct data d = { .val[K_V] = value };

	ck_render(text, &d, want);
}

/* Loading the templates fails at line, with a message holding why. */
static void
ck_load_fails_n(const struct tmpl_src *srcs, size_t n, unsigned line, const char *why)
{
	struct tmpl_err err;
	struct tmpl_set *set = tmpl_load_mem(srcs, n, keys, K__MAX, &err);

	ck_assert_msg(set == NULL, "loaded: %s", srcs[n - 1].text);
	ck_assert_msg(err.line == line, "line %u, not %u: %s", err.line, line, err.msg);
	ck_assert_msg(strstr(err.msg, why) != NULL, "\"%s\" not in \"%s\"", why, err.msg);
}

static void
ck_load_fails(const char *text, unsigned line, const char *why)
{
	struct tmpl_src src = { "t", text };

	ck_load_fails_n(&src, 1, line, why);
}

/* --------------------------------------------------------------- escaping */

START_TEST(text_is_escaped)
{
	ck_v("<p>{{v}}</p>", "<script>alert(1)</script> & \"q\" 'a'",
	    "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot; &#39;a&#39;</p>");
	ck_v("<p>{{v}}</p>", "&lt; stays &amp;lt;", "<p>&amp;lt; stays &amp;amp;lt;</p>");
	ck_v("<p>{{v}}</p>", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    "<p>caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80</p>");
	ck_v("{{v}}", NULL, "");
	/* <textarea> and <title> hold text, which no value can end */
	ck_v("<textarea name=\"n\">{{v}}</textarea><title>{{v}}</title>",
	    "</textarea><script>x</script>",
	    "<textarea name=\"n\">&lt;/textarea&gt;&lt;script&gt;x&lt;/script&gt;</textarea>"
	    "<title>&lt;/textarea&gt;&lt;script&gt;x&lt;/script&gt;</title>");
}
END_TEST

START_TEST(attributes_are_escaped)
{
	ck_v("<input value=\"{{v}}\">", "\" onmouseover=x \"",
	    "<input value=\"&quot; onmouseover=x &quot;\">");
	ck_v("<a title='{{v}}'>x</a>", "' onfocus='", "<a title='&#39; onfocus=&#39;'>x</a>");
	ck_v("<a class=\"k {{v}}\" title = \"{{v}}\">", "a>b<c&d",
	    "<a class=\"k a&gt;b&lt;c&amp;d\" title = \"a&gt;b&lt;c&amp;d\">");
	/* a quote in the template's text between markers is not the value's */
	ck_v("<a title=\"it's {{v}}\">", "'", "<a title=\"it's &#39;\">");
}
END_TEST

START_TEST(urls_are_checked)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{ "https://example.com/a?b=1&c=2", "https://example.com/a?b=1&amp;c=2" },
		{ "http://x", "http://x" },
		{ "HTTPS://X", "HTTPS://X" },
		{ "mailto:op@example.com", "mailto:op@example.com" },
		{ "/keys/7", "/keys/7" },
		{ "keys?page=2", "keys?page=2" },
		{ "/a:b", "/a:b" },		/* a colon after a '/' is no scheme */
		{ "//cdn.example.com/x", "//cdn.example.com/x" },
		{ "", "" },
		{ "\" onmouseover=\"x", "&quot; onmouseover=&quot;x" },
		/* no colon: a relative URL, and the escaped '&' decodes nothing */
		{ "javascript&#58;alert(1)", "javascript&amp;#58;alert(1)" },
		{ "javascript:alert(1)", "about:invalid" },
		{ " JaVaScRiPt:alert(1)", "about:invalid" },
		{ "java\tscript:alert(1)", "about:invalid" },
		{ "java&#x09;script:alert(1)", "about:invalid" },
		{ "\x01javascript:alert(1)", "about:invalid" },
		{ "data:text/html;base64,PHNjcmlwdD4=", "about:invalid" },
		{ "vbscript:msgbox(1)", "about:invalid" },
		{ "https :x", "about:invalid" },
		{ "a:b", "about:invalid" },
		{ "?q=a:b", "about:invalid" },	/* refused: only '/' ends a scheme here */
	};
	char want[256];

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		snprintf(want, sizeof(want), "<a href=\"%s\">x</a>", t[i].out);
		ck_v("<a href=\"{{v}}\">x</a>", t[i].in, want);
	}
	/* every URL attribute, in any case, single-quoted or not */
	ck_v("<img src=\"{{v}}\"><form action=\"{{v}}\"><button formaction=\"{{v}}\">"
	    "<video poster=\"{{v}}\"><q cite=\"{{v}}\"><td background=\"{{v}}\">"
	    "<svg><a xlink:href=\"{{v}}\"></a></svg><a HREF='{{v}}' data-url=\"{{v}}\">",
	    "javascript:alert(1)",
	    "<img src=\"about:invalid\"><form action=\"about:invalid\">"
	    "<button formaction=\"about:invalid\"><video poster=\"about:invalid\">"
	    "<q cite=\"about:invalid\"><td background=\"about:invalid\">"
	    "<svg><a xlink:href=\"about:invalid\"></a></svg>"
	    "<a HREF='about:invalid' data-url=\"about:invalid\">");
	/* other attributes take any text */
	ck_v("<a title=\"{{v}}\">", "javascript:alert(1)", "<a title=\"javascript:alert(1)\">");
}
END_TEST

START_TEST(url_values_are_checked_whole)
{
	struct data d = { .val[K_V] = "java", .val[K_W] = "script:alert(1)" };
	char *big = xmalloc(TMPL_URL_MAX + 2);

	/* written in three pieces */
	ck_render("<a href=\"{{split}}\">", &d, "<a href=\"about:invalid\">");
	/* two values side by side: each starts the URL as far as it knows */
	ck_render("<a href=\"{{v}}{{w}}\">", &d, "<a href=\"javaabout:invalid\">");
	ck_render("<a href=\"{{#show}}{{v}}{{/show}}{{w}}\">", &d, "<a href=\"about:invalid\">");
	/* after a literal scheme or path the value is only escaped */
	ck_v("<a href=\"/keys/{{v}}\">", "javascript:alert(1)",
	    "<a href=\"/keys/javascript:alert(1)\">");
	ck_v("<a href=\"mailto:{{v}}\">", "a@b.c\"", "<a href=\"mailto:a@b.c&quot;\">");
	/* longer than TMPL_URL_MAX */
	memset(big, 'a', TMPL_URL_MAX + 1);
	big[TMPL_URL_MAX + 1] = '\0';
	ck_v("<a href=\"{{v}}\">", big, "<a href=\"about:invalid\">");
	free(big);
}
END_TEST

START_TEST(url_components_are_percent_encoded)
{
	struct data d = { .val[K_V] = "a b&c=d/\xc3\xa9?#\"'<>", .val[K_W] = "AZaz09-._~" };

	ck_render("<a href=\"/keys?q={{v|url}}&amp;p={{w|url}}#{{w|url}}\">{{v|url}}</a>", &d,
	    "<a href=\"/keys?q=a%20b%26c%3Dd%2F%C3%A9%3F%23%22%27%3C%3E&amp;p=AZaz09-._~#AZaz09-._~\">"
	    "a%20b%26c%3Dd%2F%C3%A9%3F%23%22%27%3C%3E</a>");
	/* where the URL starts, an encoded value cannot carry a scheme */
	ck_v("<a href=\"{{v|url}}\">", "javascript:alert(1)",
	    "<a href=\"javascript%3Aalert%281%29\">");
	ck_v("<a title=\"{{v|url}}\">", "{{v}}", "<a title=\"%7B%7Bv%7D%7D\">");
}
END_TEST

START_TEST(invalid_utf8_and_nul_are_replaced)
{
	static const char in[] = "a\xff" "b\0c\xc0\xaf" "d\xed\xa0\x80" "e\xf4\x90\x80\x80" "f\xe2\x82";
	struct data d = { .val[K_V] = in, .len[K_V] = sizeof(in) - 1,
		.val[K_RAW] = "<b>\0</b>\x80", .len[K_RAW] = 9 };
#define R "\xef\xbf\xbd"

	ck_render("<p>{{v}}</p><a title=\"{{v}}\" href=\"{{v}}\">", &d,
	    "<p>a" R "b" R "c" R R "d" R R R "e" R R R R "f" R R "</p>"
	    "<a title=\"a" R "b" R "c" R R "d" R R R "e" R R R R "f" R R "\" "
	    "href=\"a" R "b" R "c" R R "d" R R R "e" R R R R "f" R R "\">");
	ck_render("{{v|url}}", &d,
	    "a%EF%BF%BDb%EF%BF%BDc%EF%BF%BD%EF%BF%BDd%EF%BF%BD%EF%BF%BD%EF%BF%BDe"
	    "%EF%BF%BD%EF%BF%BD%EF%BF%BD%EF%BF%BDf%EF%BF%BD%EF%BF%BD");
	/* not even the raw writer lets NUL or invalid UTF-8 through */
	ck_render("<div>{{raw}}</div>", &d, "<div><b>" R "</b>" R "</div>");
#undef R
}
END_TEST

START_TEST(values_are_never_expanded)
{
	struct data d = { .val[K_V] = "{{w}}{{#rows}}{{>t}}", .val[K_W] = "W" };

	ck_render("<p>{{v}}</p><a title=\"{{v}}\" href=\"{{v}}\">", &d,
	    "<p>{{w}}{{#rows}}{{&gt;t}}</p><a title=\"{{w}}{{#rows}}{{&gt;t}}\" "
	    "href=\"{{w}}{{#rows}}{{&gt;t}}\">");
	ck_assert_int_eq(d.calls, 3);	/* w was never asked for */
}
END_TEST

/* Count a byte in s. */
static size_t
count_char(const char *s, char c)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

/* Every href="..." and src="..." in html is relative, http(s), mailto or
 * about:invalid, read the way a browser would after removing tabs and
 * newlines. */
static void
ck_urls_safe(const char *html)
{
	static const char *const attrs[] = { "href=\"", "src=\"" };

	for (size_t a = 0; a < ARRAY_SIZE(attrs); a++) {
		for (const char *p = strstr(html, attrs[a]); p; p = strstr(p, attrs[a])) {
			char url[256];
			size_t n = 0;

			for (p += strlen(attrs[a]); *p && *p != '"'; p++)
				if (*p != '\t' && *p != '\n' && n < sizeof(url) - 1)
					url[n++] = (char)tolower((unsigned char)*p);
			url[n] = '\0';
			n = strcspn(url, ":/");
			ck_assert_msg(url[n] != ':' || strncmp(url, "http:", 5) == 0 ||
			    strncmp(url, "https:", 6) == 0 || strncmp(url, "mailto:", 7) == 0 ||
			    strcmp(url, "about:invalid") == 0, "unsafe URL: %s", url);
		}
	}
}

START_TEST(hostile_value_in_every_field)
{
	static const char page[] =
	    "<!doctype html>\n<title>{{v}}</title>\n"
	    "<p class=\"x\">{{v}}</p>\n"
	    "<input name=\"q\" value=\"{{v}}\">\n"
	    "<a href=\"{{v}}\" title='{{v}}'>{{v}}</a>\n"
	    "<a href=\"/keys?q={{v|url}}\">next</a>\n"
	    "<img src=\"{{v}}\" alt=\"{{v}}\">\n"
	    "<textarea>{{v}}</textarea>\n"
	    "<table>{{#rows}}<tr data-i=\"{{v}}\"><td>{{v}}</td></tr>{{/rows}}</table>\n";
	static const struct {
		const char *s;
		size_t len;
	} hostile[] = {
		{ "<script>alert(1)</script>", 0 },
		{ "\" onmouseover=x \"", 0 },
		{ "' onfocus='", 0 },
		{ "javascript:alert(1)", 0 },
		{ " JaVaScRiPt:alert(1)", 0 },
		{ "java&#x09;script:alert(1)", 0 },
		{ "java\tscript:alert(1)", 0 },
		{ "data:text/html,<script>alert(1)</script>", 0 },
		{ "\0", 1 },
		{ "<\0script>", 9 },
		{ "\xff\xfe<\xc0\xbc", 0 },
		{ "</textarea><script>alert(1)</script>", 0 },
		{ "</title><img src=x onerror=alert(1)>", 0 },
		{ "{{v}}{{#rows}}{{/rows}}", 0 },
		{ "--><!--", 0 },
		{ "]]></x>&", 0 },
	};
	struct data d = { .count[K_ROWS] = 2 };
	char *base;

	/* With empty values: the tags and quotes the template itself has. */
	base = render(page, &d);
	for (size_t i = 0; i < ARRAY_SIZE(hostile); i++) {
		char *out;

		d.val[K_V] = hostile[i].s;
		d.len[K_V] = hostile[i].len;
		out = render(page, &d);
		ck_assert_msg(count_char(out, '<') == count_char(base, '<') &&
		    count_char(out, '>') == count_char(base, '>') &&
		    count_char(out, '"') == count_char(base, '"') &&
		    count_char(out, '\'') == count_char(base, '\''),
		    "value %zu added markup: %s", i, out);
		ck_assert_msg(utf8_valid(out, strlen(out)), "value %zu: invalid UTF-8", i);
		ck_urls_safe(out);
		free(out);
	}
	free(base);
}
END_TEST

/* --------------------------------------------------------------- sections */

START_TEST(sections_repeat_hide_and_invert)
{
	static const char t[] = "<ul>{{#rows}}<li>{{i}}</li>{{/rows}}</ul>{{^rows}}<p>none</p>{{/rows}}";
	struct data d = { .count[K_ROWS] = 3 };

	ck_render(t, &d, "<ul><li>0</li><li>1</li><li>2</li></ul>");
	d.count[K_ROWS] = 1;
	ck_render(t, &d, "<ul><li>0</li></ul>");
	d.count[K_ROWS] = 0;
	ck_render(t, &d, "<ul></ul><p>none</p>");
	/* a key that is both a section and its value */
	d.val[K_V] = "note";
	d.count[K_V] = 1;
	ck_render("{{#v}}<p>{{v}}</p>{{/v}}", &d, "<p>note</p>");
	d.count[K_V] = 0;
	ck_render("{{#v}}<p>{{v}}</p>{{/v}}", &d, "");
	/* outside its section an index is (size_t)-1 */
	ck_render("{{i}}", &d, "18446744073709551615");
}
END_TEST

START_TEST(sections_nest)
{
	struct data d = { .count[K_ROWS] = 3, .cols_by_row = 1, .count[K_SHOW] = 1 };
	static const char t[] =
	    "{{#rows}}[{{#cols}}{{i}}.{{j}}{{#show}}!{{/show}} {{/cols}}{{^cols}}-{{/cols}}]{{/rows}}";

	ck_render(t, &d, "[0.0! ][1.0! 1.1! ][2.0! 2.1! 2.2! ]");
	d.count[K_SHOW] = 0;
	d.count[K_ROWS] = 2;
	ck_render(t, &d, "[0.0 ][1.0 1.1 ]");
	/* the same section inside itself: the index is the innermost one's */
	d.cols_by_row = 0;
	d.count[K_ROWS] = 2;
	ck_render("{{#rows}}{{i}}({{#rows}}{{i}}{{/rows}}){{/rows}}", &d, "0(01)1(01)");
}
END_TEST

START_TEST(sections_inside_tags)
{
	struct data d = { .count[K_SHOW] = 1, .val[K_V] = "\"x" };
	static const char t[] =
	    "<input type=\"checkbox\" {{#show}}checked{{/show}}>"
	    "<option{{#show}} selected{{/show}}>a</option>"
	    "<tr class=\"row{{#show}} odd{{/show}}\">"
	    "<a {{#show}}title=\"{{v}}\" {{/show}}href=\"/\">"
	    "<a href=\"/k{{#show}}?q={{v|url}}{{/show}}\">";

	ck_render(t, &d,
	    "<input type=\"checkbox\" checked><option selected>a</option>"
	    "<tr class=\"row odd\"><a title=\"&quot;x\" href=\"/\"><a href=\"/k?q=%22x\">");
	d.count[K_SHOW] = 0;
	ck_render(t, &d,
	    "<input type=\"checkbox\" ><option>a</option><tr class=\"row\"><a href=\"/\">"
	    "<a href=\"/k\">");
}
END_TEST

/* ----------------------------------------------------- partials and layout */

static const struct tmpl_src site[] = {
	{ "layout", "<!doctype html>\n<html><head><title>{{title}}</title></head>\n"
	    "<body>{{>nav}}\n<main>{{>content}}</main></body></html>\n" },
	{ "nav", "<nav><a href=\"/admin/keys\">Keys</a> <a href=\"/admin/logs\">Logs</a></nav>" },
	{ "keys", "<h1>{{title}}</h1>\n<table>\n{{#rows}}"
	    "<tr><td><a href=\"/admin/keys/{{i}}\">{{v}}</a></td><td>{{w}}</td></tr>\n"
	    "{{/rows}}{{^rows}}<tr><td>No keys yet.</td></tr>\n{{/rows}}</table>\n"
	    "<form method=\"post\" action=\"{{u}}\"><input name=\"q\" value=\"{{v}}\"></form>\n" },
	{ "slot", "<p>{{>content}}</p>" },
};

START_TEST(layout_wraps_the_page)
{
	struct tmpl_set *set = load(site, ARRAY_SIZE(site));
	struct data d = { .val[K_TITLE] = "Keys & <b>", .val[K_V] = "sk-\"1'", .val[K_W] = "5 sat",
		.val[K_U] = "javascript:alert(1)", .count[K_ROWS] = 2 };
	size_t len;
	int rc;
	char *out = render_set(set, "keys", "layout", &d, &rc, &len);

	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(out,
	    "<!doctype html>\n<html><head><title>Keys &amp; &lt;b&gt;</title></head>\n"
	    "<body><nav><a href=\"/admin/keys\">Keys</a> <a href=\"/admin/logs\">Logs</a></nav>\n"
	    "<main><h1>Keys &amp; &lt;b&gt;</h1>\n<table>\n"
	    "<tr><td><a href=\"/admin/keys/0\">sk-&quot;1&#39;</a></td><td>5 sat</td></tr>\n"
	    "<tr><td><a href=\"/admin/keys/1\">sk-&quot;1&#39;</a></td><td>5 sat</td></tr>\n"
	    "</table>\n<form method=\"post\" action=\"about:invalid\">"
	    "<input name=\"q\" value=\"sk-&quot;1&#39;\"></form>\n"
	    "</main></body></html>\n");
	free(out);

	/* the page alone */
	d.count[K_ROWS] = 0;
	d.val[K_U] = "/admin/keys";
	out = render_set(set, "keys", NULL, &d, &rc, &len);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(out, "<h1>Keys &amp; &lt;b&gt;</h1>\n<table>\n"
	    "<tr><td>No keys yet.</td></tr>\n</table>\n"
	    "<form method=\"post\" action=\"/admin/keys\"><input name=\"q\" "
	    "value=\"sk-&quot;1&#39;\"></form>\n");
	free(out);

	/* a partial alone; a layout with no page; a page that is its own slot */
	out = render_set(set, "nav", NULL, &d, &rc, &len);
	ck_assert_int_eq(rc, 0);
	free(out);
	free(render_set(set, "layout", NULL, &d, &rc, &len));
	ck_assert_int_eq(rc, -1);
	free(render_set(set, "slot", "layout", &d, &rc, &len));
	ck_assert_int_eq(rc, -1);
	free(render_set(set, "nope", NULL, &d, &rc, &len));
	ck_assert_int_eq(rc, -1);
	free(render_set(set, "keys", "nope", &d, &rc, &len));
	ck_assert_int_eq(rc, -1);
	tmpl_free(set);
}
END_TEST

START_TEST(partials_in_sections)
{
	static const struct tmpl_src srcs[] = {
		{ "row", "<li>{{i}}: {{v}}</li>" },
		{ "list", "<ul>{{#rows}}{{>row}}{{/rows}}</ul>" },
	};
	struct tmpl_set *set = load(srcs, 2);
	struct data d = { .val[K_V] = "<x>", .count[K_ROWS] = 2 };
	size_t len;
	int rc;
	char *out = render_set(set, "list", NULL, &d, &rc, &len);

	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(out, "<ul><li>0: &lt;x&gt;</li><li>1: &lt;x&gt;</li></ul>");
	free(out);
	tmpl_free(set);
}
END_TEST

/* ---------------------------------------------------------- render errors */

START_TEST(render_failures)
{
	struct tmpl_src src = { "t", "<p>{{v}}{{fail}}</p>" };
	struct tmpl_set *set = load(&src, 1);
	struct data d = { .val[K_V] = "0123456789" };
	struct tmpl_data td = { value_cb, count_cb, &d };
	struct buf b;

	/* a callback's failure stops the render */
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(tmpl_render(set, "t", NULL, &td, tmpl_sink_buf, &b), -1);
	buf_free(&b);
	tmpl_free(set);

	/* the sink's cap */
	src.text = "<p>{{v}}</p>";
	set = load(&src, 1);
	buf_init(&b, 8);
	ck_assert_int_eq(tmpl_render(set, "t", NULL, &td, tmpl_sink_buf, &b), -1);
	buf_free(&b);
	tmpl_free(set);

	/* sections without a count callback */
	src.text = "{{#rows}}x{{/rows}}";
	set = load(&src, 1);
	td.count = NULL;
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(tmpl_render(set, "t", NULL, &td, tmpl_sink_buf, &b), -1);
	buf_free(&b);
	tmpl_free(set);
}
END_TEST

START_TEST(raw_writer)
{
	struct data d = { .val[K_RAW] = "<svg viewBox=\"0 0 2 2\"><circle r=\"1\"/></svg>" };
	struct tmpl_src src = { "t", "<a title=\"{{raw}}\">" };
	struct tmpl_set *set;
	size_t len;
	int rc;

	ck_render("<div>{{raw}}</div>", &d,
	    "<div><svg viewBox=\"0 0 2 2\"><circle r=\"1\"/></svg></div>");
	/* refused anywhere but in text */
	static const char *const where[] = {
		"<a title=\"{{raw}}\">", "<a href=\"{{raw}}\">", "<textarea>{{raw}}</textarea>",
		"<a href=\"/?q={{raw|url}}\">",
	};
	for (size_t i = 0; i < ARRAY_SIZE(where); i++) {
		src.text = where[i];
		set = load(&src, 1);
		free(render_set(set, "t", NULL, &d, &rc, &len));
		ck_assert_msg(rc == -1, "raw allowed in %s", where[i]);
		tmpl_free(set);
	}
}
END_TEST

START_TEST(printf_values)
{
	struct data d = { 0 };
	char want[512];

	/* longer than printf's stack buffer, and escaped */
	snprintf(want, sizeof(want), "<p>%0300d&lt;</p>", 7);
	ck_render("<p>{{long}}</p>", &d, want);
}
END_TEST

/* ------------------------------------------------------------ load errors */

START_TEST(load_errors_name_the_line)
{
	char deep[512] = "";
	static const struct {
		const char *text;
		unsigned line;
		const char *why;
	} t[] = {
		{ "<p>\n\n{{nope}}</p>", 3, "no key \"nope\"" },
		{ "a\n{{#rows}}\nx", 2, "{{#rows}} is not closed" },
		{ "{{^rows}}\n", 1, "{{^rows}} is not closed" },
		{ "{{#rows}}\n{{/cols}}", 2, "closes {{#rows}} of line 1" },
		{ "x\n{{/rows}}", 2, "closes no section" },
		{ "<p>\n<script>\nvar x = '{{v}}';\n</script>", 3, "raw-text" },
		{ "<SCRIPT type=\"module\">{{v}}</script>", 1, "raw-text" },
		{ "<style>p{color:{{v}}}</style>", 1, "raw-text" },
		{ "<script>x</script>\n<style>\n</style>{{v}}<iframe>{{v}}</iframe>", 3, "raw-text" },
		{ "<script>{{#show}}{{/show}}</script>", 1, "raw-text" },
		{ "<!-- a\n{{v}} -->", 2, "comment" },
		{ "<!DOCTYPE {{v}}>", 1, "<!...>" },
		{ "<a href={{u}}>", 1, "unquoted" },
		{ "<a\ntitle=x{{v}}>", 2, "unquoted" },
		{ "<a title= {{v}}>", 1, "unquoted" },
		{ "<{{v}}>", 1, "tag name" },
		{ "</{{v}}>", 1, "tag name" },
		{ "<a{{v}}>", 1, "tag name" },
		{ "<a {{v}}>", 1, "attribute name" },
		{ "<a on{{v}}=\"x\">", 1, "attribute name" },
		{ "<a title=\"x\"{{v}}>", 1, "attribute name" },
		{ "<a onclick=\"f('{{v}}')\">", 1, "on*" },
		{ "<a onClick=\"{{v|url}}\">", 1, "on*" },
		{ "<p style=\"color: {{v}}\">", 1, "style" },
		{ "<img srcset=\"{{u}} 2x\">", 1, "srcset" },
		{ "<iframe srcdoc=\"{{v}}\"></iframe>", 1, "srcdoc" },
		{ "<a href=\"/keys?q={{v}}\">", 1, "write {{v|url}}" },
		{ "<a href=\"/keys#{{v}}\">", 1, "write {{v|url}}" },
		{ "<a href=\"{{u}}:x\">", 1, "scheme" },
		{ "<script src=\"{{u}}\"></script>", 1, "chooses the URL <script> loads" },
		{ "<iframe src=\"{{u|url}}\"></iframe>", 1, "chooses the URL <iframe> loads" },
		{ "<link rel=\"stylesheet\" href=\"{{u}}\">", 1, "chooses the URL <link> loads" },
		{ "<base href=\"{{u}}\">", 1, "chooses the URL <base> loads" },
		{ "{{ v }}", 1, "bad marker \"{{ v }}\"" },
		{ "\n{{{v}}}", 2, "bad marker" },
		{ "{{v", 1, "bad marker" },
		{ "{{v|html}}", 1, "bad marker" },
		{ "{{#rows|url}}{{/rows}}", 1, "bad marker" },
		{ "{{}}", 1, "bad marker" },
		{ "{{>missing}}", 1, "no template missing.html" },
		{ "<a title=\"{{>t}}\">", 1, "only be in text" },
		{ "<textarea>{{>t}}</textarea>", 1, "only be in text" },
		{ "<a title=\"{{#rows}}\">{{/rows}}", 1, "different places" },
		{ "{{#rows}}<b\n{{/rows}}>", 2, "different places" },
		{ "<a {{#rows}}>{{/rows}}", 1, "different places" },
		{ "<a title=\"{{#rows}}\" href=\"{{/rows}}\">", 1, "different places" },
		/* hidden, {{v}} would be in the <script> */
		{ "<script {{#show}}></script><b {{/show}}>{{v}}", 1, "different places" },
		{ "<scr{{#show}}ipt{{/show}}>", 1, "put a space" },
		{ "<a {{#show}}on{{/show}}click=\"x\">", 1, "put a space" },
		{ "<a {{#show}}x{{/show}}{{#rows}}y{{/rows}}>", 1, "put a space" },
		{ "<a title=x{{#show}}{{/show}}>", 1, "unquoted" },
		{ "<textarea></text{{v}}", 1, "end tag" },
		{ "<p>\n<a href=\"x\"", 2, "ends inside" },
		{ "<textarea>{{v}}", 1, "ends inside" },
		{ "x <!-- y", 1, "ends inside" },
		{ "x\n<", 2, "ends inside" },
		{ "<script><!--<script></script>", 1, "<!--" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		ck_load_fails(t[i].text, t[i].line, t[i].why);
	for (int i = 0; i <= TMPL_DEPTH_MAX; i++)
		memcpy(deep + 9 * i, "{{#rows}}", 9);
	ck_load_fails(deep, 1, "nested more than");
}
END_TEST

START_TEST(load_errors_between_templates)
{
	static const struct tmpl_src cycle[] = {
		{ "a", "<p>{{>b}}</p>" },
		{ "b", "x\n{{>c}}" },
		{ "c", "{{#rows}}{{>a}}{{/rows}}" },
	};
	static const struct tmpl_src self[] = { { "a", "{{>a}}" } };
	static const struct tmpl_src twice[] = { { "a", "x" }, { "a", "y" } };
	static const struct tmpl_src reserved[] = { { "content", "x" } };
	static const struct tmpl_src badname[] = { { "a.b", "x" } };

	ck_load_fails_n(cycle, 3, 1, "includes itself");
	ck_load_fails_n(self, 1, 1, "{{>a}} includes itself");
	ck_load_fails_n(twice, 2, 0, "two templates");
	ck_load_fails_n(reserved, 1, 0, "bad template name");
	ck_load_fails_n(badname, 1, 0, "bad template name");
}
END_TEST

/* Valid HTML the lexer must follow without refusing it. */
START_TEST(lexer_accepts_valid_html)
{
	static const char t[] =
	    "<!DOCTYPE html>\n<?xml-ish?>\n<!-- a > b -- c -->{{v}}"
	    "<!---->{{v}}<!-->{{v}}<!-- x --!>{{v}}"
	    "<script>if (a < b && c > d) x = \"</scr\" + 'ipt>';</script >{{v}}"
	    "<style>a > b { content: \"<\" }</style>{{v}}"
	    "<textarea>a < b </texta </textarea/>{{v}}"
	    "<p a=b c d = \"e\" f='g' h=i/>{{v}}</p> 1 < 2 <3 <>{{v}}</>"
	    "<a\thref\n=\n\"{{v}}\" title=\"/{{v}}\">{{v}}</a>"
	    "<script src=\"/static/{{v|url}}.js\"></script>";

	ck_v(t, "<v>",
	    "<!DOCTYPE html>\n<?xml-ish?>\n<!-- a > b -- c -->&lt;v&gt;"
	    "<!---->&lt;v&gt;<!-->&lt;v&gt;<!-- x --!>&lt;v&gt;"
	    "<script>if (a < b && c > d) x = \"</scr\" + 'ipt>';</script >&lt;v&gt;"
	    "<style>a > b { content: \"<\" }</style>&lt;v&gt;"
	    "<textarea>a < b </texta </textarea/>&lt;v&gt;"
	    "<p a=b c d = \"e\" f='g' h=i/>&lt;v&gt;</p> 1 < 2 <3 <>&lt;v&gt;</>"
	    "<a\thref\n=\n\"&lt;v&gt;\" title=\"/&lt;v&gt;\">&lt;v&gt;</a>"
	    "<script src=\"/static/%3Cv%3E.js\"></script>");
}
END_TEST

/* ---------------------------------------------------------- a directory */

static char dir[TL_PATH_MAX];

static void
setup(void)
{
	tl_tmpdir(dir, sizeof(dir), "test_template");
}

static void
teardown(void)
{
	tl_tmpdir_remove(dir);
}

static void
write_file(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
	ck_assert_int_eq(fclose(f), 0);
	free(path);
}

START_TEST(load_a_directory)
{
	struct tmpl_err err;
	struct tmpl_set *set;
	struct data d = { .val[K_TITLE] = "T<", .val[K_V] = "v", .val[K_W] = "w",
		.val[K_U] = "/x", .count[K_ROWS] = 0 };
	size_t len;
	int rc;
	char *out;

	for (size_t i = 0; i < 3; i++) {
		char *name = xasprintf("%s.html", site[i].name);

		write_file(name, site[i].text);
		free(name);
	}
	write_file("README", "{{not a template}}");
	write_file(".hidden.html", "{{nope}}");
	set = tmpl_load_dir(dir, keys, K__MAX, &err);
	ck_assert_msg(set != NULL, "%s", err.msg);
	out = render_set(set, "keys", "layout", &d, &rc, &len);
	ck_assert_int_eq(rc, 0);
	ck_assert_ptr_nonnull(strstr(out, "<title>T&lt;</title>"));
	ck_assert_ptr_nonnull(strstr(out, "<nav>"));
	ck_assert_ptr_nonnull(strstr(out, "No keys yet."));
	free(out);
	tmpl_free(set);

	/* one broken file: its name and line */
	write_file("broken.html", "<p>\n</p>\n<script>\nvar v = {{v}};\n</script>\n");
	ck_assert_ptr_null(tmpl_load_dir(dir, keys, K__MAX, &err));
	ck_assert_uint_eq(err.line, 4);
	ck_assert_msg(strncmp(err.msg, "broken.html:4: ", 15) == 0, "%s", err.msg);

	ck_assert_ptr_null(tmpl_load_dir("/nonexistent/templates", keys, K__MAX, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/templates"));
}
END_TEST

Suite *
suite(void)
{
	Suite *s = suite_create("template");
	TCase *tc = tcase_create("core");

	log_open(NULL, LOG_ERROR);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, text_is_escaped);
	tcase_add_test(tc, attributes_are_escaped);
	tcase_add_test(tc, urls_are_checked);
	tcase_add_test(tc, url_values_are_checked_whole);
	tcase_add_test(tc, url_components_are_percent_encoded);
	tcase_add_test(tc, invalid_utf8_and_nul_are_replaced);
	tcase_add_test(tc, values_are_never_expanded);
	tcase_add_test(tc, hostile_value_in_every_field);
	tcase_add_test(tc, sections_repeat_hide_and_invert);
	tcase_add_test(tc, sections_nest);
	tcase_add_test(tc, sections_inside_tags);
	tcase_add_test(tc, layout_wraps_the_page);
	tcase_add_test(tc, partials_in_sections);
	tcase_add_test(tc, render_failures);
	tcase_add_test(tc, raw_writer);
	tcase_add_test(tc, printf_values);
	tcase_add_test(tc, load_errors_name_the_line);
	tcase_add_test(tc, load_errors_between_templates);
	tcase_add_test(tc, lexer_accepts_valid_html);
	tcase_add_test(tc, load_a_directory);
	suite_add_tcase(s, tc);
	return s;
}
