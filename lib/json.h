/* json: small helpers over json-c. json-c objects are reference counted:
 * json_object_object_get borrows, json_object_object_add takes the caller's
 * reference. The helpers below say which. */
#ifndef ROUTSTR_JSON_H
#define ROUTSTR_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

/* Parse n bytes strictly (UTF-8 validated, one value, no trailing bytes).
 * Returns a new reference or NULL; *why gets a static reason on failure. */
struct json_object *json_parse_strict(const char *p, size_t n, const char **why);

/* Whether JSON text p (n bytes, already parsed) has a string with a NUL
 * character (\u0000, a name or a value). json-c keeps such a string whole but
 * C sees it cut at the NUL: "a\u0000b" would be "a" to us and "a\u0000b" to
 * the upstream, so requests carrying one are refused. */
bool json_text_has_nul(const char *p, size_t n);
/* Borrowed member of an object by key, or NULL (also when obj is no object). */
struct json_object *json_get(struct json_object *obj, const char *key);
/* The string value of a member, borrowed from obj, or NULL if absent/not a string. */
const char *json_get_str(struct json_object *obj, const char *key);
/* An integer member, exactly representable (no floats): 0 and *out, or -1. */
int json_get_i64(struct json_object *obj, const char *key, int64_t *out);
/* Compact serialisation; the string is owned by obj (valid until it changes or dies). */
const char *json_compact(struct json_object *obj, size_t *len);

#endif
