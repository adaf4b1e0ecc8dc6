/* log: see log.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "util.h"

#define LOG_LINE_MAX 8192

static int log_fd = 2;
static enum log_level log_level = LOG_INFO;

static const char *const level_names[LOG_LEVEL__MAX] = {
	[LOG_ERROR] = "error", [LOG_WARN] = "warn", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

int
log_open(const char *path, enum log_level level)
{
	log_level = level;
	if (path == NULL || *path == '\0') {
		log_fd = 2;
		return 0;
	}
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	if (log_fd > 2)
		close(log_fd);
	log_fd = fd;
	return 0;
}

enum log_level
log_level_parse(const char *name)
{
	if (str_ieq(name, "TRACE") || str_ieq(name, "DEBUG"))
		return LOG_DEBUG;
	if (str_ieq(name, "WARNING") || str_ieq(name, "WARN"))
		return LOG_WARN;
	if (str_ieq(name, "ERROR") || str_ieq(name, "CRITICAL"))
		return LOG_ERROR;
	return LOG_INFO;
}

/* ---- redactor ------------------------------------------------------- */

static bool
is_tok_char(char c, const char *extra)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c && strchr(extra, c) != NULL);
}

static bool
word_start(const char *base, const char *p)
{
	return p == base || !is_tok_char(p[-1], "_-");
}

/* Keys whose value is a secret in "key=value", "key: value", "key":"value". */
static const char *const secret_keys[] = {
	"authorization", "x-cashu", "api_key", "apikey", "upstream_api_key", "password",
	"secret", "token", "cashu_token", "bearer_key", "nsec", "refund_address", "key",
};

/* Length of a secret-bearing key at p (matched case-insensitively at a word
 * start and followed by optional quote/space and ':' or '='), else 0. Sets
 * *vstart to where the value begins. */
static size_t
match_key(const char *base, const char *p, const char **vstart)
{
	size_t i;

	if (!word_start(base, p))
		return 0;
	for (i = 0; i < ARRAY_SIZE(secret_keys); i++) {
		size_t n = strlen(secret_keys[i]);
		const char *q;

		if (!str_iprefix(p, secret_keys[i]) || is_tok_char(p[n], "_-"))
			continue;
		q = p + n;
		if (*q == '"' || *q == '\'')
			q++;
		while (*q == ' ')
			q++;
		if (*q != ':' && *q != '=')
			continue;
		q++;
		while (*q == ' ')
			q++;
		*vstart = q;
		return n;
	}
	return 0;
}

char *
log_redact(const char *in)
{
	struct buf b;
	const char *p = in;

	buf_init(&b, (size_t)-1 / 2);
	while (*p) {
		const char *v;
		size_t n;

		/* "Bearer <credential>" */
		if (str_iprefix(p, "bearer") && word_start(in, p) && (p[6] == ' ' || p[6] == '\t')) {
			const char *q = p + 6;

			while (*q == ' ' || *q == '\t')
				q++;
			n = 0;
			while (is_tok_char(q[n], "_.-=/+"))
				n++;
			if (n >= 8) {
				buf_append(&b, p, (size_t)(q - p));
				buf_puts(&b, "[REDACTED]");
				p = q + n;
				continue;
			}
		}
		/* Cashu tokens: cashu followed by a version letter. */
		if (str_iprefix(p, "cashu") && ((p[5] >= 'A' && p[5] <= 'Z') || (p[5] >= 'a' && p[5] <= 'z')) &&
		    is_tok_char(p[6], "_.=/+-")) {
			n = 5;
			while (is_tok_char(p[n], "_.=/+-"))
				n++;
			buf_puts(&b, "[REDACTED]");
			p += n;
			continue;
		}
		/* sk- API keys and nsec1 keys, at a word start. */
		if (word_start(in, p) && (strncmp(p, "sk-", 3) == 0 || strncmp(p, "nsec1", 5) == 0)) {
			size_t pre = p[0] == 's' ? 3 : 5;

			n = pre;
			while (is_tok_char(p[n], "_-"))
				n++;
			if (n - pre >= 8) {
				buf_append(&b, p, pre);
				buf_puts(&b, "[REDACTED]");
				p += n;
				continue;
			}
		}
		/* key=value pairs naming a secret ("Authorization: Bearer x" is
		 * left to the bearer rule above, at the next position). */
		if (match_key(in, p, &v) > 0 && !(str_iprefix(v, "bearer") && (v[6] == ' ' || v[6] == '\t'))) {
			char quote = (*v == '"' || *v == '\'') ? *v : 0;
			const char *e = v + (quote ? 1 : 0);

			if (quote)
				while (*e && *e != quote)
					e++;
			else
				while (is_tok_char(*e, "_.=/+-"))
					e++;
			if (e > v + (quote ? 1 : 0)) {
				buf_append(&b, p, (size_t)(v - p));
				if (quote)
					buf_append(&b, &quote, 1);
				buf_puts(&b, "[REDACTED]");
				if (quote && *e == quote) {
					buf_append(&b, &quote, 1);
					e++;
				}
				p = e;
				continue;
			}
		}
		buf_append(&b, p, 1);
		p++;
	}
	if (b.data == NULL)
		return xstrdup("");
	return buf_steal(&b, NULL);
}

/* ---- escaping ------------------------------------------------------- */

char *
log_escape(const char *in)
{
	static const char hex[] = "0123456789abcdef";
	struct buf b;
	const char *p;

	buf_init(&b, (size_t)-1 / 2);
	for (p = in; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f || c == '\\') {
			char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 0xf] };

			buf_append(&b, esc, sizeof(esc));
		} else {
			buf_append(&b, p, 1);
		}
	}
	if (b.data == NULL)
		return xstrdup("");
	return buf_steal(&b, NULL);
}

/* ---- writers -------------------------------------------------------- */

/* Write one line: redacted first (the redactor reads the raw text, so an
 * escape cannot split a secret out of its match), then escaped, so a field
 * never breaks the line or reaches a terminal as a control sequence. */
static void
emit(enum log_level lvl, const char *text)
{
	char stamp[32];
	struct timespec ts;
	struct tm tm;
	char *redacted = log_redact(text);
	char *clean = log_escape(redacted);
	struct buf line;

	free(redacted);

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	buf_init(&line, LOG_LINE_MAX);
	if (buf_printf(&line, "%s.%03ldZ %s %s\n", stamp, ts.tv_nsec / 1000000,
	    level_names[lvl], clean) < 0) {
		/* Too long: cut it, keep the newline. */
		buf_reset(&line);
		buf_printf(&line, "%s.%03ldZ %s %.*s...\n", stamp, ts.tv_nsec / 1000000,
		    level_names[lvl], LOG_LINE_MAX - 64, clean);
	}
	/* One write per line: O_APPEND keeps lines whole across threads. */
	if (write(log_fd, line.data, line.len) < 0) {
		/* nowhere left to report it */
	}
	buf_free(&line);
	free(clean);
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	char text[LOG_LINE_MAX];
	va_list ap;

	if (lvl > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	emit(lvl, text);
}

void
log_request(const char *rid, const char *method, const char *path, int status,
    uint64_t bytes, int64_t dur_us, const char *extra)
{
	char text[LOG_LINE_MAX];

	if (LOG_INFO > log_level)
		return;
	snprintf(text, sizeof(text), "request id=%s method=%s path=%s status=%d bytes=%llu ms=%lld.%03lld%s%s",
	    rid, method, path, status, (unsigned long long)bytes, (long long)(dur_us / 1000),
	    (long long)(dur_us % 1000), extra && *extra ? " " : "", extra ? extra : "");
	emit(LOG_INFO, text);
}
