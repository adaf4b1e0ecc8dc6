/* template: see template.h. Three parts: a lexer that follows the HTML
 * around the markers at load time, just enough to know where each marker
 * sits; the compiler that turns a template into a list of ops; the renderer
 * and its escapers.
 *
 * The lexer follows the HTML5 tokenizer's states for tags, attributes,
 * comments and raw-text elements, and where it cannot tell what a browser
 * would do it refuses the template rather than guess: a marker is allowed
 * only in text and in quoted attribute values, where an escaper can keep a
 * value from ending what it sits in. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "template.h"
#include "util.h"

#define NAME_MAX_LEN 64		/* of a key or a template name */
#define STACK_MAX 64		/* sections open at once while rendering, across partials */

/* How a value is escaped, decided at load time from where its marker is. */
enum ctx {
	CTX_NONE,	/* not inside a value callback */
	CTX_TEXT,	/* text: HTML-escaped */
	CTX_RCDATA,	/* <textarea>, <title>: HTML-escaped, no raw HTML */
	CTX_ATTR,	/* a quoted attribute value: HTML-escaped */
	CTX_URL,	/* a URL attribute's value, where the URL starts */
	CTX_QUERY,	/* {{name|url}}: percent-encoded */
	CTX_RAW,	/* tmpl_write_raw_UNSAFE: only UTF-8 repair */
};

enum op_kind { OP_TEXT, OP_VALUE, OP_SECTION, OP_INVERTED, OP_PARTIAL, OP_CONTENT };

struct op {
	enum op_kind kind;
	enum ctx ctx;		/* OP_VALUE */
	size_t key;		/* value, section: key index; OP_PARTIAL: template index */
	size_t off, len;	/* OP_TEXT: its bytes in text; OP_PARTIAL: the name there */
	size_t end;		/* sections: the op after the body */
	unsigned line;
};

struct tmpl {
	char *name;		/* owned */
	char *text;		/* owned, NUL-terminated */
	struct op *ops;		/* owned */
	size_t nops, cap;
};

struct tmpl_set {
	struct tmpl *t;		/* owned, n of them */
	size_t n;
};

static int
set_err(struct tmpl_err *err, const char *name, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
set_err(struct tmpl_err *err, const char *name, unsigned line, const char *fmt, ...)
{
	char why[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	err->line = line;
	if (name == NULL)
		snprintf(err->msg, sizeof(err->msg), "%s", why);
	else if (line == 0)
		snprintf(err->msg, sizeof(err->msg), "%s.html: %s", name, why);
	else
		snprintf(err->msg, sizeof(err->msg), "%s.html:%u: %s", name, line, why);
	return -1;
}

/* ================================================================= lexer */

enum lx_state {
	LX_TEXT,
	LX_RCDATA,	/* inside <textarea> or <title>, up to its end tag */
	LX_RAW,		/* inside <script>, <style>, ..., up to its end tag */
	LX_LT,		/* after '<' */
	LX_LT_SLASH,	/* after "</" */
	LX_BANG,	/* after "<!" */
	LX_BANG_DASH,	/* after "<!-" */
	LX_COMMENT,	/* inside <!-- --> */
	LX_BOGUS,	/* <!DOCTYPE ...>, <?...>: up to '>' */
	LX_TAG_NAME,
	LX_IN_TAG,	/* where an attribute name may begin */
	LX_ATTR_NAME,
	LX_AFTER_NAME,	/* spaces after an attribute name */
	LX_BEFORE_VALUE,/* after '=' */
	LX_VALUE_DQ,
	LX_VALUE_SQ,
	LX_VALUE_UNQ,
};

enum attr_kind { AK_PLAIN, AK_URL, AK_BAD };

struct lexer {
	enum lx_state st;
	unsigned line;		/* where the construct being lexed began */
	bool end_tag;		/* the tag being lexed is an end tag */
	char tag[16];		/* its name, lower case (of the raw element in LX_RAW) */
	size_t taglen;		/* may exceed the bytes kept */
	char attr[32];		/* the attribute being lexed */
	size_t attrlen;
	enum attr_kind ak;	/* in a value: the kind of its attribute */
	bool url_fixed;		/* in a URL value: literal text fixed the scheme */
	bool url_query;		/* ... and reached the query or fragment */
	bool url_dyn;		/* ... and a value began it */
	bool need_sep;		/* a section marker ended a name: a space must follow */
	size_t match;		/* in LX_RCDATA/LX_RAW: bytes of "</name" seen */
	size_t cmt;		/* in <script>: bytes of "<!--" seen */
	int dashes;		/* in a comment: '-' just seen */
	bool bang;		/* in a comment: "--!" just seen */
};

static const char *const raw_elems[] = {
	"script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext",
};
static const char *const rcdata_elems[] = { "textarea", "title" };
/* Elements whose URL attributes load code or set the base of every URL: a
 * value may fill in their URLs after a literal start, never choose one. */
static const char *const code_elems[] = {
	"script", "iframe", "frame", "embed", "object", "applet", "base", "link",
};
/* Attributes whose value is one URL, besides names holding href, src, url or uri. */
static const char *const url_attrs[] = {
	"action", "formaction", "cite", "data", "poster", "background", "longdesc",
	"codebase", "classid", "usemap", "manifest", "icon", "profile", "ping",
};

static bool
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static bool
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool
in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

/* Append c, lower-cased, to a name kept in buf (size bytes, NUL-terminated);
 * *len counts past what fits, so an overlong name matches nothing. */
static void
name_add(char *buf, size_t size, size_t *len, int c)
{
	if (*len < size - 1) {
		buf[*len] = (char)lower(c);
		buf[*len + 1] = '\0';
	}
	(*len)++;
}

static enum attr_kind
attr_kind(const struct lexer *lx)
{
	const char *a = lx->attr;

	if (lx->attrlen >= sizeof(lx->attr) || strncmp(a, "on", 2) == 0 ||
	    strcmp(a, "style") == 0 || strcmp(a, "srcset") == 0 || strcmp(a, "srcdoc") == 0)
		return AK_BAD;
	if (strstr(a, "href") || strstr(a, "src") || strstr(a, "url") || strstr(a, "uri") ||
	    in_list(a, url_attrs, ARRAY_SIZE(url_attrs)))
		return AK_URL;
	return AK_PLAIN;
}

/* The '>' that ends a tag: a start tag of a raw-text element opens it. */
static void
tag_end(struct lexer *lx)
{
	bool fits = lx->taglen < sizeof(lx->tag);

	lx->st = LX_TEXT;
	lx->match = lx->cmt = 0;
	if (lx->end_tag || !fits)
		return;
	if (in_list(lx->tag, raw_elems, ARRAY_SIZE(raw_elems)))
		lx->st = LX_RAW;
	else if (in_list(lx->tag, rcdata_elems, ARRAY_SIZE(rcdata_elems)))
		lx->st = LX_RCDATA;
}

static void
tag_start(struct lexer *lx, int c, bool end)
{
	lx->st = LX_TAG_NAME;
	lx->end_tag = end;
	lx->taglen = 0;
	name_add(lx->tag, sizeof(lx->tag), &lx->taglen, c);
}

static void
attr_start(struct lexer *lx, int c)
{
	lx->st = LX_ATTR_NAME;
	lx->attrlen = 0;
	name_add(lx->attr, sizeof(lx->attr), &lx->attrlen, c);
}

static void
value_start(struct lexer *lx, enum lx_state st)
{
	lx->st = st;
	lx->ak = attr_kind(lx);
	lx->url_fixed = lx->url_query = lx->url_dyn = false;
}

/* In LX_RCDATA and LX_RAW: look for "</name" and a space, '/' or '>'. */
static void
end_match(struct lexer *lx, int c)
{
	size_t m = lx->match;

	if (m == 2 + lx->taglen) {
		if (is_space(c) || c == '/' || c == '>') {
			lx->st = LX_IN_TAG;
			lx->end_tag = true;
			if (c == '>')
				tag_end(lx);
			return;
		}
		m = 0;
	}
	if ((m == 0 && c == '<') || (m == 1 && c == '/') ||
	    (m >= 2 && lower(c) == lx->tag[m - 2]))
		lx->match = m + 1;
	else
		lx->match = c == '<';
}

/* Feed one byte of literal template text. Return NULL, or why the template
 * is refused. */
static const char *
lx_feed(struct lexer *lx, int c, unsigned line)
{
	if (lx->need_sep) {
		if (!is_space(c) && c != '/' && c != '>')
			return "a section inside a tag must begin and end between attributes: "
			    "put a space, '/' or '>' next to its marker";
		lx->need_sep = false;
	}
	switch (lx->st) {
	case LX_TEXT:
		if (c == '<') {
			lx->st = LX_LT;
			lx->line = line;
		}
		break;
	case LX_RAW:
		/* A script's "<!--" starts states in which </script> may not end
		 * it; rather than follow them, refuse it. */
		if (strcmp(lx->tag, "script") == 0) {
			lx->cmt = c == "<!--"[lx->cmt] ? lx->cmt + 1 : c == '<';
			if (lx->cmt == 4)
				return "\"<!--\" inside <script>";
		}
		/* FALLTHROUGH */
	case LX_RCDATA:
		end_match(lx, c);
		break;
	case LX_LT:
		if (is_alpha(c))
			tag_start(lx, c, false);
		else if (c == '/')
			lx->st = LX_LT_SLASH;
		else if (c == '!')
			lx->st = LX_BANG;
		else if (c == '?')
			lx->st = LX_BOGUS;
		else if (c != '<')
			lx->st = LX_TEXT;
		break;
	case LX_LT_SLASH:
		if (is_alpha(c))
			tag_start(lx, c, true);
		else
			lx->st = c == '>' ? LX_TEXT : LX_BOGUS;
		break;
	case LX_BANG:
		lx->st = c == '-' ? LX_BANG_DASH : c == '>' ? LX_TEXT : LX_BOGUS;
		break;
	case LX_BANG_DASH:
		if (c == '-') {
			lx->st = LX_COMMENT;
			lx->dashes = 2;		/* "<!-->" and "<!--->" end at once */
			lx->bang = false;
		} else {
			lx->st = c == '>' ? LX_TEXT : LX_BOGUS;
		}
		break;
	case LX_COMMENT:
		if (c == '>' && (lx->dashes >= 2 || lx->bang))
			lx->st = LX_TEXT;
		lx->bang = c == '!' && lx->dashes >= 2;
		lx->dashes = c == '-' ? lx->dashes + 1 : 0;
		break;
	case LX_BOGUS:
		if (c == '>')
			lx->st = LX_TEXT;
		break;
	case LX_TAG_NAME:
		if (is_space(c) || c == '/')
			lx->st = LX_IN_TAG;
		else if (c == '>')
			tag_end(lx);
		else
			name_add(lx->tag, sizeof(lx->tag), &lx->taglen, c);
		break;
	case LX_IN_TAG:
		if (c == '>')
			tag_end(lx);
		else if (!is_space(c) && c != '/')
			attr_start(lx, c);
		break;
	case LX_ATTR_NAME:
		if (is_space(c))
			lx->st = LX_AFTER_NAME;
		else if (c == '/')
			lx->st = LX_IN_TAG;
		else if (c == '=')
			lx->st = LX_BEFORE_VALUE;
		else if (c == '>')
			tag_end(lx);
		else
			name_add(lx->attr, sizeof(lx->attr), &lx->attrlen, c);
		break;
	case LX_AFTER_NAME:
		if (c == '=')
			lx->st = LX_BEFORE_VALUE;
		else if (c == '/')
			lx->st = LX_IN_TAG;
		else if (c == '>')
			tag_end(lx);
		else if (!is_space(c))
			attr_start(lx, c);
		break;
	case LX_BEFORE_VALUE:
		if (c == '"')
			value_start(lx, LX_VALUE_DQ);
		else if (c == '\'')
			value_start(lx, LX_VALUE_SQ);
		else if (c == '>')
			tag_end(lx);
		else if (!is_space(c))
			value_start(lx, LX_VALUE_UNQ);
		break;
	case LX_VALUE_DQ:
	case LX_VALUE_SQ:
		if (c == (lx->st == LX_VALUE_DQ ? '"' : '\'')) {
			lx->st = LX_IN_TAG;
		} else if (lx->ak == AK_URL && !lx->url_fixed) {
			if (c == ':' && lx->url_dyn)
				return "a URL's scheme must not be built from a value "
				    "(a marker then a literal ':')";
			lx->url_fixed = c == ':' || c == '/' || c == '?' || c == '#';
			if (c == '?' || c == '#')
				lx->url_query = true;
		} else if (lx->ak == AK_URL && (c == '?' || c == '#')) {
			lx->url_query = true;
		}
		break;
	case LX_VALUE_UNQ:
		if (is_space(c))
			lx->st = LX_IN_TAG;
		else if (c == '>')
			tag_end(lx);
		break;
	}
	return NULL;
}

/* Where the lexer is, for an error about a marker there. */
static const char *
lx_where(const struct lexer *lx)
{
	switch (lx->st) {
	case LX_RAW:
		return "inside a raw-text element (<script>, <style>, ...)";
	case LX_COMMENT:
		return "inside a comment";
	case LX_BANG:
	case LX_BANG_DASH:
	case LX_BOGUS:
		return "inside <!...> or <?...>";
	case LX_LT:
	case LX_LT_SLASH:
	case LX_TAG_NAME:
		return "inside a tag name";
	case LX_IN_TAG:
	case LX_ATTR_NAME:
	case LX_AFTER_NAME:
		return "where an attribute name goes (put it in a quoted value)";
	case LX_BEFORE_VALUE:
	case LX_VALUE_UNQ:
		return "in an unquoted attribute value (quote it)";
	case LX_RCDATA:
		return lx->match ? "inside an end tag" : "inside <textarea> or <title>";
	default:
		return "here";
	}
}

/* At a section marker: a name in progress ends there, so that the marker
 * stands between attributes. NULL, or where the marker may not be. */
static const char *
lx_section(struct lexer *lx)
{
	switch (lx->st) {
	case LX_TAG_NAME:
	case LX_ATTR_NAME:
		lx->need_sep = true;
		/* FALLTHROUGH */
	case LX_AFTER_NAME:
		lx->st = LX_IN_TAG;
		/* FALLTHROUGH */
	case LX_IN_TAG:
	case LX_TEXT:
	case LX_VALUE_DQ:
	case LX_VALUE_SQ:
		return NULL;
	case LX_RCDATA:
		return lx->match ? lx_where(lx) : NULL;
	default:
		return lx_where(lx);
	}
}

/* Whether a section's two ends are in the same place, so that what follows
 * is in the same place however many times the section shows. */
static bool
lx_same(const struct lexer *a, const struct lexer *b)
{
	if (a->st != b->st)
		return false;
	if (a->st == LX_IN_TAG || a->st == LX_RCDATA || a->st == LX_VALUE_DQ ||
	    a->st == LX_VALUE_SQ)
		if (a->end_tag != b->end_tag || a->taglen != b->taglen ||
		    strcmp(a->tag, b->tag) != 0)
			return false;
	return (a->st != LX_VALUE_DQ && a->st != LX_VALUE_SQ) || a->ak == b->ak;
}

/* ============================================================== compiler */

struct cc {
	struct tmpl *t;
	const char *const *keys;
	size_t nkeys;
	struct tmpl_err *err;
	struct lexer lx;
	struct {
		size_t op;
		unsigned line;
		struct lexer at;
	} open[TMPL_DEPTH_MAX];
	size_t nopen;
};

static bool
name_char(int c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static struct op *
op_add(struct tmpl *t, enum op_kind kind, unsigned line)
{
	struct op *op;

	if (t->nops == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->ops = xrealloc(t->ops, t->cap * sizeof(*t->ops));
	}
	op = &t->ops[t->nops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->line = line;
	return op;
}

static int
key_find(const struct cc *c, const char *name, size_t len, size_t *key)
{
	for (size_t k = 0; k < c->nkeys; k++)
		if (c->keys[k] && strlen(c->keys[k]) == len && memcmp(c->keys[k], name, len) == 0) {
			*key = k;
			return 0;
		}
	return -1;
}

/* The context of a value marker where the lexer is; -1 when refused. */
static int
value_ctx(struct cc *c, bool url, const char *name, size_t len, unsigned line, enum ctx *ctx)
{
	struct lexer *lx = &c->lx;

	switch (lx->st) {
	case LX_TEXT:
		*ctx = url ? CTX_QUERY : CTX_TEXT;
		return 0;
	case LX_RCDATA:
		if (lx->match)
			break;
		*ctx = url ? CTX_QUERY : CTX_RCDATA;
		return 0;
	case LX_VALUE_DQ:
	case LX_VALUE_SQ:
		if (lx->ak == AK_BAD)
			return set_err(c->err, c->t->name, line, "{{%.*s}} in attribute %s: "
			    "no values in on*, style, srcset or srcdoc", (int)len, name, lx->attr);
		if (lx->ak == AK_URL && !lx->url_fixed) {
			if (lx->taglen < sizeof(lx->tag) &&
			    in_list(lx->tag, code_elems, ARRAY_SIZE(code_elems)))
				return set_err(c->err, c->t->name, line, "{{%.*s}} chooses the URL "
				    "<%s> loads: begin it with a literal path", (int)len, name,
				    lx->tag);
			lx->url_dyn = true;
		}
		if (url)
			*ctx = CTX_QUERY;
		else if (lx->ak == AK_URL && !lx->url_fixed)
			*ctx = CTX_URL;
		else if (lx->ak == AK_URL && lx->url_query)
			return set_err(c->err, c->t->name, line, "{{%.*s}} in a URL's query or "
			    "fragment: write {{%.*s|url}}", (int)len, name, (int)len, name);
		else
			*ctx = CTX_ATTR;
		return 0;
	default:
		break;
	}
	return set_err(c->err, c->t->name, line, "{{%.*s}} %s", (int)len, name, lx_where(lx));
}

/* The marker at text[*pos] ("{{"): parse it, add its op, move *pos past it. */
static int
marker(struct cc *c, size_t *pos, unsigned line)
{
	const char *m = c->t->text + *pos, *p = m + 2, *name;
	struct op *op;
	const char *why;
	char sigil = 0;
	bool url = false;
	size_t len, key, show;

	if (*p == '#' || *p == '^' || *p == '/' || *p == '>')
		sigil = *p++;
	for (name = p; name_char(*p); p++)
		;
	len = (size_t)(p - name);
	if (sigil == 0 && strncmp(p, "|url", 4) == 0) {
		url = true;
		p += 4;
	}
	if (len == 0 || len > NAME_MAX_LEN || p[0] != '}' || p[1] != '}') {
		for (show = 0; show < 24 && m[show] && m[show] != '\n'; show++)
			;
		return set_err(c->err, c->t->name, line, "bad marker \"%.*s\": write {{name}}, "
		    "{{name|url}}, {{#name}}, {{^name}}, {{/name}} or {{>name}}", (int)show, m);
	}
	*pos = (size_t)(p + 2 - c->t->text);

	if (sigil == '>') {
		if (c->lx.st != LX_TEXT)
			return set_err(c->err, c->t->name, line, "{{>%.*s}} %s: it may only be in "
			    "text", (int)len, name, lx_where(&c->lx));
		op = op_add(c->t, len == 7 && memcmp(name, "content", 7) == 0 ? OP_CONTENT :
		    OP_PARTIAL, line);
		op->off = (size_t)(name - c->t->text);
		op->len = len;
		return 0;
	}
	if (key_find(c, name, len, &key) < 0)
		return set_err(c->err, c->t->name, line, "{{%.*s%.*s}}: no key \"%.*s\" in the "
		    "key table", sigil != 0, &sigil, (int)len, name, (int)len, name);

	if (sigil == 0) {
		enum ctx ctx = CTX_NONE;

		if (value_ctx(c, url, name, len, line, &ctx) < 0)
			return -1;
		op = op_add(c->t, OP_VALUE, line);
		op->key = key;
		op->ctx = ctx;
		return 0;
	}
	if ((why = lx_section(&c->lx)) != NULL)
		return set_err(c->err, c->t->name, line, "{{%c%.*s}} %s", sigil, (int)len, name,
		    why);
	if (sigil == '/') {
		struct lexer *at;

		if (c->nopen == 0)
			return set_err(c->err, c->t->name, line, "{{/%.*s}} closes no section",
			    (int)len, name);
		op = &c->t->ops[c->open[c->nopen - 1].op];
		at = &c->open[c->nopen - 1].at;
		if (op->key != key)
			return set_err(c->err, c->t->name, line, "{{/%.*s}} closes {{%c%s}} of "
			    "line %u", (int)len, name, op->kind == OP_SECTION ? '#' : '^',
			    c->keys[op->key], op->line);
		if (!lx_same(at, &c->lx))
			return set_err(c->err, c->t->name, line, "section %.*s begins (line %u) and "
			    "ends in different places: both in text, both between one tag's "
			    "attributes, or both in one quoted value", (int)len, name, op->line);
		/* What follows is what it would be after 0, 1 or n showings:
		 * assume the least that any of them gives. */
		c->lx.url_fixed = c->lx.url_fixed && at->url_fixed;
		c->lx.url_query = c->lx.url_query || at->url_query;
		c->lx.url_dyn = c->lx.url_dyn || at->url_dyn;
		c->lx.need_sep = c->lx.need_sep || at->need_sep;
		op->end = c->t->nops;
		c->nopen--;
		return 0;
	}
	if (c->nopen == TMPL_DEPTH_MAX)
		return set_err(c->err, c->t->name, line, "sections nested more than %d deep",
		    TMPL_DEPTH_MAX);
	c->open[c->nopen].op = c->t->nops;
	c->open[c->nopen].line = line;
	c->open[c->nopen].at = c->lx;
	c->nopen++;
	op = op_add(c->t, sigil == '#' ? OP_SECTION : OP_INVERTED, line);
	op->key = key;
	return 0;
}

static void
text_add(struct tmpl *t, size_t from, size_t to, unsigned line)
{
	struct op *op;

	if (to == from)
		return;
	op = op_add(t, OP_TEXT, line);
	op->off = from;
	op->len = to - from;
}

static int
compile(struct tmpl *t, const char *const *keys, size_t nkeys, struct tmpl_err *err)
{
	struct cc *c = xcalloc(1, sizeof(*c));
	const char *s = t->text, *why;
	size_t i = 0, lit = 0;
	unsigned line = 1, lit_line = 1;
	int rc = -1;

	c->t = t;
	c->keys = keys;
	c->nkeys = nkeys;
	c->err = err;
	c->lx.st = LX_TEXT;
	while (s[i] != '\0') {
		if (s[i] == '{' && s[i + 1] == '{') {
			text_add(t, lit, i, lit_line);
			if (marker(c, &i, line) < 0)
				goto out;
			lit = i;
			lit_line = line;
			continue;
		}
		if ((why = lx_feed(&c->lx, (unsigned char)s[i], line)) != NULL) {
			set_err(err, t->name, line, "%s", why);
			goto out;
		}
		if (s[i++] == '\n')
			line++;
	}
	text_add(t, lit, i, lit_line);
	if (c->nopen > 0) {
		const struct op *op = &t->ops[c->open[c->nopen - 1].op];

		set_err(err, t->name, op->line, "{{%c%s}} is not closed",
		    op->kind == OP_SECTION ? '#' : '^', keys[op->key]);
		goto out;
	}
	if (c->lx.st != LX_TEXT) {
		set_err(err, t->name, c->lx.line, "the template ends inside the tag, comment or "
		    "element that begins here");
		goto out;
	}
	rc = 0;
out:
	free(c);
	return rc;
}

/* Resolve {{>name}} to template indexes. */
static int
link_partials(struct tmpl_set *set, struct tmpl_err *err)
{
	for (size_t i = 0; i < set->n; i++) {
		struct tmpl *t = &set->t[i];

		for (size_t j = 0; j < t->nops; j++) {
			struct op *op = &t->ops[j];
			const char *name = t->text + op->off;
			size_t k;

			if (op->kind != OP_PARTIAL)
				continue;
			for (k = 0; k < set->n; k++)
				if (strlen(set->t[k].name) == op->len &&
				    memcmp(set->t[k].name, name, op->len) == 0)
					break;
			if (k == set->n)
				return set_err(err, t->name, op->line, "{{>%.*s}}: no template "
				    "%.*s.html", (int)op->len, name, (int)op->len, name);
			op->key = k;
		}
	}
	return 0;
}

/* Depth-first over the partials from template i: a template met again
 * while it is being visited includes itself. mark: 0 new, 1 open, 2 done. */
static int
find_cycle(const struct tmpl_set *set, size_t i, unsigned char *mark, struct tmpl_err *err)
{
	const struct tmpl *t = &set->t[i];

	mark[i] = 1;
	for (size_t j = 0; j < t->nops; j++) {
		const struct op *op = &t->ops[j];

		if (op->kind != OP_PARTIAL || mark[op->key] == 2)
			continue;
		if (mark[op->key] == 1)
			return set_err(err, t->name, op->line, "{{>%s}} includes itself",
			    set->t[op->key].name);
		if (find_cycle(set, op->key, mark, err) < 0)
			return -1;
	}
	mark[i] = 2;
	return 0;
}

static bool
tmpl_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_char((unsigned char)s[i]))
			return false;
	return true;
}

struct tmpl_set *
tmpl_load_mem(const struct tmpl_src *src, size_t nsrc, const char *const *keys, size_t nkeys,
    struct tmpl_err *err)
{
	struct tmpl_set *set = xcalloc(1, sizeof(*set));
	unsigned char *mark = NULL;

	memset(err, 0, sizeof(*err));
	if (nsrc > TMPL_FILES_MAX) {
		set_err(err, NULL, 0, "more than %d templates", TMPL_FILES_MAX);
		goto fail;
	}
	set->t = xcalloc(nsrc + 1, sizeof(*set->t));
	for (size_t i = 0; i < nsrc; i++) {
		struct tmpl *t = &set->t[i];

		if (!tmpl_name_ok(src[i].name) || strcmp(src[i].name, "content") == 0) {
			set_err(err, src[i].name, 0, "bad template name (letters, digits, '_', '-'; "
			    "\"content\" is the layout's slot)");
			goto fail;
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(set->t[k].name, src[i].name) == 0) {
				set_err(err, src[i].name, 0, "two templates of this name");
				goto fail;
			}
		if (strlen(src[i].text) > TMPL_FILE_MAX) {
			set_err(err, src[i].name, 0, "larger than %d bytes", TMPL_FILE_MAX);
			goto fail;
		}
		t->name = xstrdup(src[i].name);
		t->text = xstrdup(src[i].text);
		set->n++;
		if (compile(t, keys, nkeys, err) < 0)
			goto fail;
	}
	if (link_partials(set, err) < 0)
		goto fail;
	mark = xcalloc(set->n + 1, 1);
	for (size_t i = 0; i < set->n; i++)
		if (mark[i] == 0 && find_cycle(set, i, mark, err) < 0)
			goto fail;
	free(mark);
	return set;
fail:
	free(mark);
	tmpl_free(set);
	return NULL;
}

/* The whole of file path, NUL-terminated, in a new buffer the caller frees;
 * NULL with *err filled when it cannot be read, is too large or holds NUL. */
static char *
read_template(const char *path, const char *name, struct tmpl_err *err)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		set_err(err, name, 0, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > TMPL_FILE_MAX) {
		set_err(err, name, 0, "not a regular file of at most %d bytes", TMPL_FILE_MAX);
		goto out;
	}
	text = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size &&
	    (n = read(fd, text + len, (size_t)st.st_size - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			set_err(err, name, 0, "%s: %s", path, strerror(errno));
			free(text);
			text = NULL;
			goto out;
		}
		len += (size_t)n;
	}
	text[len] = '\0';
	if (memchr(text, '\0', len) != NULL) {
		set_err(err, name, 0, "a NUL byte in the template");
		free(text);
		text = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	return text;
}

static int
src_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tmpl_src *)a)->name, ((const struct tmpl_src *)b)->name);
}

struct tmpl_set *
tmpl_load_dir(const char *dir, const char *const *keys, size_t nkeys, struct tmpl_err *err)
{
	struct tmpl_src *src = xcalloc(TMPL_FILES_MAX, sizeof(*src));
	struct tmpl_set *set = NULL;
	struct dirent *de;
	size_t n = 0;
	DIR *dp;

	memset(err, 0, sizeof(*err));
	if ((dp = opendir(dir)) == NULL) {
		set_err(err, NULL, 0, "%s: %s", dir, strerror(errno));
		goto out;
	}
	while ((de = readdir(dp)) != NULL) {
		size_t len = strlen(de->d_name);
		char *path, *name;

		if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".html") != 0)
			continue;
		name = xstrndup(de->d_name, len - 5);
		if (n == TMPL_FILES_MAX) {
			set_err(err, name, 0, "more than %d templates", TMPL_FILES_MAX);
			free(name);
			goto out;
		}
		path = xasprintf("%s/%s", dir, de->d_name);
		src[n].text = read_template(path, name, err);
		free(path);
		src[n].name = name;
		if (src[n++].text == NULL)
			goto out;
	}
	/* readdir's order varies: sort, so the same error is found every time. */
	qsort(src, n, sizeof(*src), src_cmp);
	set = tmpl_load_mem(src, n, keys, nkeys, err);
out:
	if (dp)
		closedir(dp);
	for (size_t i = 0; i < n; i++) {
		free((char *)src[i].name);
		free((char *)src[i].text);
	}
	free(src);
	return set;
}

void
tmpl_free(struct tmpl_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++) {
		free(set->t[i].name);
		free(set->t[i].text);
		free(set->t[i].ops);
	}
	free(set->t);
	free(set);
}

/* ============================================================== renderer */

struct tmpl_out {
	const struct tmpl_set *set;
	const struct tmpl_data *d;
	tmpl_sink_fn sink;
	void *ud;
	const struct tmpl *page;	/* what {{>content}} renders; NULL inside it */
	enum ctx ctx;			/* of the value being written */
	bool failed;
	struct buf url;			/* a CTX_URL value, checked when complete */
	bool url_over;			/* ... it went past TMPL_URL_MAX */
	struct {
		size_t key, index;
	} stack[STACK_MAX];
	size_t depth;
	size_t olen;
	char obuf[4096];		/* output on its way to the sink */
};

static void
out_flush(struct tmpl_out *w)
{
	if (w->olen > 0 && !w->failed && w->sink(w->ud, w->obuf, w->olen) < 0)
		w->failed = true;
	w->olen = 0;
}

static void
out_put(struct tmpl_out *w, const char *p, size_t n)
{
	if (w->failed)
		return;
	if (n > sizeof(w->obuf) - w->olen) {
		out_flush(w);
		if (n >= sizeof(w->obuf)) {
			if (!w->failed && w->sink(w->ud, p, n) < 0)
				w->failed = true;
			return;
		}
	}
	memcpy(w->obuf + w->olen, p, n);
	w->olen += n;
}

/* Length of the valid UTF-8 character at s (n > 0 bytes there), or 0 when
 * s[0] begins none or is NUL: overlongs, surrogates, stray continuation
 * bytes, truncated sequences and code points past U+10FFFF are invalid. */
static size_t
utf8_char(const unsigned char *s, size_t n)
{
	uint32_t cp, min;
	size_t need;

	if (s[0] < 0x80)
		return s[0] != 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 1;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n <= need)
		return 0;
	for (size_t i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need + 1;
}

/* Write p[0..n) escaped for ctx. Every byte that begins no valid character
 * becomes U+FFFD. */
static void
escape(struct tmpl_out *w, enum ctx ctx, const char *p, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0;

	while (i < n && !w->failed) {
		const unsigned char *ch = s + i;
		size_t len = utf8_char(ch, n - i);

		i += len ? len : 1;
		if (len == 0) {
			ch = (const unsigned char *)"\xef\xbf\xbd";
			len = 3;
		}
		if (ctx == CTX_QUERY) {
			for (size_t j = 0; j < len; j++) {
				char pct[3] = { '%', hex[ch[j] >> 4], hex[ch[j] & 15] };

				if (is_alpha(ch[j]) || (ch[j] >= '0' && ch[j] <= '9') ||
				    ch[j] == '-' || ch[j] == '.' || ch[j] == '_' || ch[j] == '~')
					out_put(w, (const char *)ch + j, 1);
				else
					out_put(w, pct, 3);
			}
			continue;
		}
		if (ctx != CTX_RAW && len == 1) {
			const char *ent = NULL;

			switch (ch[0]) {
			case '&': ent = "&amp;"; break;
			case '<': ent = "&lt;"; break;
			case '>': ent = "&gt;"; break;
			case '"': ent = "&quot;"; break;
			case '\'': ent = "&#39;"; break;
			}
			if (ent) {
				out_put(w, ent, strlen(ent));
				continue;
			}
		}
		out_put(w, (const char *)ch, len);
	}
}

/* Whether s[0..n) may start a URL attribute: it has no scheme (no ':'
 * before the first '/'), or http, https or mailto in any case. Everything
 * else ("javascript:", " javascript:", "java\tscript:", "data:", ...) is
 * refused, without trying to follow how browsers clean a scheme. */
static bool
url_safe(const char *s, size_t n)
{
	static const char *const ok[] = { "http", "https", "mailto" };
	size_t i, k;

	for (i = 0; i < n && s[i] != ':' && s[i] != '/'; i++)
		;
	if (i == n || s[i] == '/')
		return true;
	for (k = 0; k < ARRAY_SIZE(ok); k++) {
		size_t j;

		if (strlen(ok[k]) != i)
			continue;
		for (j = 0; j < i && lower((unsigned char)s[j]) == ok[k][j]; j++)
			;
		if (j == i)
			return true;
	}
	return false;
}

static void
value(struct tmpl_out *w, const struct op *op)
{
	w->ctx = op->ctx;
	buf_reset(&w->url);
	w->url_over = false;
	if (w->d->value(op->key, w, w->d->arg) < 0)
		w->failed = true;
	if (op->ctx == CTX_URL && !w->failed) {
		if (w->url_over || !url_safe(w->url.data ? w->url.data : "", w->url.len))
			escape(w, CTX_ATTR, "about:invalid", 13);
		else
			escape(w, CTX_ATTR, w->url.data, w->url.len);
	}
	w->ctx = CTX_NONE;
}

/* Render ops [from, to) of t. Recursion is bounded by section nesting and
 * by the partials, which include no cycle. */
static void
run(struct tmpl_out *w, const struct tmpl *t, size_t from, size_t to)
{
	size_t i = from;

	while (i < to && !w->failed) {
		const struct op *op = &t->ops[i];
		const struct tmpl *p;
		size_t n;

		switch (op->kind) {
		case OP_TEXT:
			out_put(w, t->text + op->off, op->len);
			break;
		case OP_VALUE:
			value(w, op);
			break;
		case OP_SECTION:
		case OP_INVERTED:
			if (w->d->count == NULL || w->depth == STACK_MAX) {
				log_error("template %s.html:%u: no count callback, or sections nested "
				    "too deep", t->name, op->line);
				w->failed = true;
				return;
			}
			n = w->d->count(op->key, w, w->d->arg);
			if (op->kind == OP_INVERTED) {
				if (n == 0)
					run(w, t, i + 1, op->end);
				i = op->end;
				continue;
			}
			w->stack[w->depth].key = op->key;
			w->depth++;
			for (size_t k = 0; k < n && !w->failed; k++) {
				w->stack[w->depth - 1].index = k;
				run(w, t, i + 1, op->end);
			}
			w->depth--;
			i = op->end;
			continue;
		case OP_PARTIAL:
			p = &w->set->t[op->key];
			run(w, p, 0, p->nops);
			break;
		case OP_CONTENT:
			if ((p = w->page) == NULL) {
				log_error("template %s.html:%u: {{>content}} with no page, or in the page",
				    t->name, op->line);
				w->failed = true;
				return;
			}
			w->page = NULL;
			run(w, p, 0, p->nops);
			w->page = p;
			break;
		}
		i++;
	}
}

static const struct tmpl *
tmpl_find(const struct tmpl_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->t[i].name, name) == 0)
			return &set->t[i];
	log_error("template: no template %s", name);
	return NULL;
}

int
tmpl_render(const struct tmpl_set *set, const char *page, const char *layout,
    const struct tmpl_data *d, tmpl_sink_fn sink, void *ud)
{
	const struct tmpl *p, *l = NULL;
	struct tmpl_out *w;
	int rc;

	if ((p = tmpl_find(set, page)) == NULL ||
	    (layout != NULL && (l = tmpl_find(set, layout)) == NULL))
		return -1;
	/* On the heap: worker threads have small stacks. */
	w = xcalloc(1, sizeof(*w));
	w->set = set;
	w->d = d;
	w->sink = sink;
	w->ud = ud;
	buf_init(&w->url, TMPL_URL_MAX);
	if (l != NULL) {
		w->page = p;
		run(w, l, 0, l->nops);
	} else {
		run(w, p, 0, p->nops);
	}
	out_flush(w);
	rc = w->failed ? -1 : 0;
	buf_free(&w->url);
	free(w);
	return rc;
}

int
tmpl_sink_buf(void *ud, const char *p, size_t n)
{
	return buf_append(ud, p, n);
}

/* ==================================================== inside a callback */

int
tmpl_write(struct tmpl_out *w, const char *p, size_t n)
{
	if (w->failed)
		return -1;
	if (w->ctx == CTX_NONE) {
		log_error("template: a value written outside its callback");
		w->failed = true;
	} else if (w->ctx == CTX_URL) {
		if (buf_append(&w->url, p, n) < 0)
			w->url_over = true;
	} else {
		escape(w, w->ctx, p, n);
	}
	return w->failed ? -1 : 0;
}

int
tmpl_puts(struct tmpl_out *w, const char *s)
{
	return tmpl_write(w, s ? s : "", s ? strlen(s) : 0);
}

int
tmpl_printf(struct tmpl_out *w, const char *fmt, ...)
{
	char small[256], *p = small;
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		w->failed = true;
		return -1;
	}
	if ((size_t)n >= sizeof(small)) {
		p = xmalloc((size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(p, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	rc = tmpl_write(w, p, (size_t)n);
	if (p != small)
		free(p);
	return rc;
}

int
tmpl_write_raw_UNSAFE(struct tmpl_out *w, const char *p, size_t n)
{
	if (w->failed)
		return -1;
	if (w->ctx != CTX_TEXT) {
		log_error("template: raw HTML refused outside text");
		w->failed = true;
		return -1;
	}
	escape(w, CTX_RAW, p, n);
	return w->failed ? -1 : 0;
}

size_t
tmpl_index(const struct tmpl_out *w, size_t key)
{
	for (size_t i = w->depth; i > 0; i--)
		if (w->stack[i - 1].key == key)
			return w->stack[i - 1].index;
	return (size_t)-1;
}
