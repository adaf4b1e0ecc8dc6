/* json: see json.h. */
#include "config.h"

#include <string.h>

#include "json.h"
#include "util.h"

struct json_object *
json_parse_strict(const char *p, size_t n, const char **why)
{
	struct json_tokener *tok;
	struct json_object *obj = NULL;
	const char *reason = "invalid JSON";

	if (n == 0) {
		reason = "empty body";
		goto out;
	}
	if (n > (size_t)INT32_MAX) {
		reason = "body too large to parse";
		goto out;
	}
	if (!utf8_valid(p, n)) {
		reason = "body is not valid UTF-8";
		goto out;
	}
	tok = json_tokener_new_ex(64);
	if (tok == NULL)
		goto out;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, p, (int)n);
	if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(obj);
		obj = NULL;
	} else if ((size_t)json_tokener_get_parse_end(tok) != n) {
		/* Trailing bytes after one value: only white space may follow. */
		size_t i;

		for (i = json_tokener_get_parse_end(tok); i < n; i++) {
			if (!strchr(" \t\r\n", p[i])) {
				json_object_put(obj);
				obj = NULL;
				reason = "trailing data after the JSON value";
				break;
			}
		}
	}
	json_tokener_free(tok);
out:
	if (obj == NULL && why)
		*why = reason;
	return obj;
}

bool
json_text_has_nul(const char *p, size_t n)
{
	size_t i;

	/* In valid JSON a backslash only occurs in a string, starting an
	 * escape; skipping each escape whole keeps "\\u0000" (a backslash,
	 * then text) apart from "\u0000" (a NUL). */
	for (i = 0; i < n; i++) {
		if (p[i] != '\\')
			continue;
		if (i + 5 < n && p[i + 1] == 'u' && memcmp(p + i + 2, "0000", 4) == 0)
			return true;
		i++;
	}
	return false;
}

struct json_object *
json_get(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;

	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

const char *
json_get_str(struct json_object *obj, const char *key)
{
	struct json_object *v = json_get(obj, key);

	if (v == NULL || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int
json_get_i64(struct json_object *obj, const char *key, int64_t *out)
{
	struct json_object *v = json_get(obj, key);

	if (v == NULL || !json_object_is_type(v, json_type_int))
		return -1;
	*out = json_object_get_int64(v);
	return 0;
}

const char *
json_compact(struct json_object *obj, size_t *len)
{
	return json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
}
