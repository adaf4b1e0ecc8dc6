/* upstream_error: Routstr's reading of an upstream's error answer
 * (routstr-proxy.md 7.4 and 7.5): is it a rate limit, what do its words say
 * (model, metric, limit, used, requested, retry after), and the OpenAI
 * organisation ids it must not leak. Pure functions over strings and json-c
 * objects; the engine decides what to send. */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "relay.h"

static const char *
find_ci(const char *s, const char *needle)
{
	size_t n = strlen(needle);

	for (; s && *s; s++)
		if (strncasecmp(s, needle, n) == 0)
			return s;
	return NULL;
}

bool
relay_is_rate_limit(int status, const char *msg)
{
	static const char *const words[] = {
		"rate limit reached", "rate_limit_exceeded", "rate limit exceeded",
		"too many requests",
	};
	size_t i;

	if (status == 429)
		return true;
	for (i = 0; msg && i < sizeof(words) / sizeof(words[0]); i++)
		if (find_ci(msg, words[i]))
			return true;
	return false;
}

void
relay_redact_org(char *s)
{
	char *p = s;

	while ((p = strstr(p, "org-")) != NULL) {
		char *q = p + 4;
		size_t n = 0;

		while (isalnum((unsigned char)q[n]))
			n++;
		if (n >= 6) {
			static const char red[] = "[REDACTED]";
			size_t rl = sizeof(red) - 1;

			/* the redaction is never longer than what it hides
			 * when n >= rl; otherwise make room */
			if (n >= rl) {
				memcpy(q, red, rl);
				memmove(q + rl, q + n, strlen(q + n) + 1);
			} else {
				memmove(q + rl, q + n, strlen(q + n) + 1);
				memcpy(q, red, rl);
			}
			p = q + rl;
		} else {
			p = q;
		}
	}
}

/* The integer after word (case-insensitive) in msg, at its first
 * occurrence followed by one: "Limit 30000" in "Rate limit reached ...
 * Limit 30000". */
static bool
int_after(const char *msg, const char *word, int64_t *out)
{
	const char *p;

	for (p = find_ci(msg, word); p != NULL; p = find_ci(p + 1, word)) {
		const char *q = p + strlen(word);

		while (*q == ' ' || *q == ':')
			q++;
		if (isdigit((unsigned char)*q)) {
			*out = strtoll(q, NULL, 10);
			return true;
		}
	}
	return false;
}

/* "Rate limit reached for <model> in/on ..." -> model. */
static void
add_model(struct json_object *d, const char *msg)
{
	const char *p = find_ci(msg, "rate limit reached for ");
	size_t n = 0;

	if (p == NULL)
		return;
	p += strlen("rate limit reached for ");
	while (p[n] && p[n] != ' ' && p[n] != ',' && p[n] != '.')
		n++;
	if (n > 0 && n < 200)
		json_object_object_add(d, "model", json_object_new_string_len(p, (int)n));
}

/* "on <metric>:" -> metric; "(for limit X)" -> limit_name. */
static void
add_metric(struct json_object *d, const char *msg)
{
	const char *p = find_ci(msg, " on "), *colon, *q;

	if (p && (colon = strchr(p + 4, ':')) != NULL && colon - (p + 4) < 100)
		json_object_object_add(d, "metric",
		    json_object_new_string_len(p + 4, (int)(colon - (p + 4))));
	if ((p = find_ci(msg, "(for limit ")) != NULL && (q = strchr(p, ')')) != NULL &&
	    q - (p + 11) < 100)
		json_object_object_add(d, "limit_name",
		    json_object_new_string_len(p + 11, (int)(q - (p + 11))));
}

/* Seconds to wait: the Retry-After header, else "try again in <n>ms|s". */
static bool
retry_after(const char *msg, const char *header, double *secs)
{
	const char *p;
	char *end;
	double v;

	if (header && *header) {
		v = strtod(header, &end);
		if (end != header && v >= 0 && isfinite(v)) {
			*secs = v;
			return true;
		}
	}
	if ((p = find_ci(msg, "try again in ")) == NULL)
		return false;
	p += strlen("try again in ");
	v = strtod(p, &end);
	if (end == p || v < 0 || !isfinite(v))
		return false;
	*secs = strncmp(end, "ms", 2) == 0 ? v / 1000 : v;
	return true;
}

struct json_object *
relay_rate_details(const char *msg, const char *retry_header, double *retry_secs)
{
	struct json_object *d = json_object_new_object();
	int64_t v;
	double s;

	json_object_object_add(d, "code", json_object_new_string("UPSTREAM_RATE_LIMIT"));
	if (msg && *msg)
		json_object_object_add(d, "message", json_object_new_string(msg));
	if (msg) {
		add_model(d, msg);
		add_metric(d, msg);
		if (int_after(msg, "limit ", &v))
			json_object_object_add(d, "limit", json_object_new_int64(v));
		if (int_after(msg, "used ", &v))
			json_object_object_add(d, "used", json_object_new_int64(v));
		if (int_after(msg, "requested ", &v))
			json_object_object_add(d, "requested", json_object_new_int64(v));
	}
	*retry_secs = -1;
	if (retry_after(msg, retry_header, &s)) {
		json_object_object_add(d, "retry_after_seconds", json_object_new_double(s));
		*retry_secs = s;
	}
	return d;
}
