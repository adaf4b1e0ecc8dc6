/* usage: see usage.h. */
#include "config.h"

#include <string.h>

#include "json.h"
#include "usage.h"

/* A token count member: an integer >= 0, else 0 (Routstr's rules: floats
 * truncate, junk and negatives are 0). */
static int64_t
count(struct json_object *o, const char *key)
{
	struct json_object *v = json_get(o, key);
	int64_t n = 0;

	if (v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_int))
		n = json_object_get_int64(v);
	else if (json_object_is_type(v, json_type_double))
		n = (int64_t)json_object_get_double(v);	/* only a count, never money */
	return n > 0 ? n : 0;
}

bool
usage_from_json(struct json_object *usage, struct pricing_usage *u)
{
	struct json_object *ptd, *ctd;
	int64_t cache_read, cache_write, reasoning;

	memset(u, 0, sizeof(*u));
	u->requests = 1;
	if (usage == NULL || !json_object_is_type(usage, json_type_object))
		return false;
	ptd = json_get(usage, "prompt_tokens_details");
	if (ptd == NULL)
		ptd = json_get(usage, "input_tokens_details");
	ctd = json_get(usage, "completion_tokens_details");
	if (ctd == NULL)
		ctd = json_get(usage, "output_tokens_details");

	cache_read = count(usage, "cache_read_input_tokens");
	if (cache_read == 0)
		cache_read = count(ptd, "cached_tokens");
	if (cache_read == 0)
		cache_read = count(usage, "prompt_cache_hit_tokens");
	cache_write = count(usage, "cache_creation_input_tokens");
	if (cache_write == 0)
		cache_write = count(ptd, "cache_creation_tokens");
	if (cache_write == 0)
		cache_write = count(ptd, "cache_write_tokens");
	reasoning = count(ctd, "reasoning_tokens");

	u->output = count(usage, "completion_tokens");
	if (u->output == 0)
		u->output = count(usage, "output_tokens");
	if (json_get(usage, "prompt_tokens") != NULL) {
		/* OpenAI: prompt_tokens counts the cached tokens too. */
		u->input = pricing_usage_split_prompt(count(usage, "prompt_tokens"), cache_read,
		    cache_write);
	} else if (json_get(usage, "cache_read_input_tokens") != NULL ||
	    json_get(usage, "cache_creation_input_tokens") != NULL) {
		/* Anthropic: input_tokens excludes the cache buckets. */
		u->input = count(usage, "input_tokens");
	} else {
		/* Responses API: input_tokens includes cached_tokens. */
		u->input = pricing_usage_split_prompt(count(usage, "input_tokens"), cache_read,
		    cache_write);
	}
	u->cache_read = cache_read;
	u->cache_write = cache_write;
	u->reasoning = reasoning < u->output ? reasoning : u->output;
	return true;
}

int64_t
usage_codepoints(const char *s, size_t n)
{
	int64_t cps = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			cps++;
	return cps;
}

static int64_t
str_chars(struct json_object *v)
{
	if (v == NULL || !json_object_is_type(v, json_type_string))
		return 0;
	return usage_codepoints(json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

/* A short "role" or "type" value names structure (a chat role, a content
 * part's kind), which the upstream maps to a few template tokens; a longer
 * one is text like any other. */
#define STRUCTURE_WORD_MAX 16

/* Members whose array elements are records (messages, content parts, input
 * items): the records' member names are fixed field names, not prompt. */
static bool
is_record_list(const char *key)
{
	return strcmp(key, "messages") == 0 || strcmp(key, "content") == 0 ||
	    strcmp(key, "input") == 0;
}

static bool
is_image_part(struct json_object *o)
{
	const char *type = json_get_str(o, "type");

	return type && (strcmp(type, "image_url") == 0 || strcmp(type, "input_image") == 0);
}

/* Code points of the text in v the upstream may tokenize: every string value
 * and, when names is true, every member name, recursively; nested objects
 * always count their names (a JSON schema's property names are prompt). v is
 * borrowed; json-c's parser bounds the depth (json_parse_strict). */
static int64_t
text_chars(struct json_object *v, bool names, int64_t *images)
{
	int64_t n = 0;
	size_t i, len;

	if (v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_string))
		return str_chars(v);
	if (json_object_is_type(v, json_type_array)) {
		len = json_object_array_length(v);
		for (i = 0; i < len; i++)
			n += text_chars(json_object_array_get_idx(v, i), true, images);
		return n;
	}
	if (!json_object_is_type(v, json_type_object))
		return 0;
	if (is_image_part(v))
		(*images)++;
	json_object_object_foreach(v, key, val) {
		if (names)
			n += usage_codepoints(key, strlen(key));
		if ((strcmp(key, "role") == 0 || strcmp(key, "type") == 0) &&
		    str_chars(val) <= STRUCTURE_WORD_MAX)
			continue;
		if (json_object_is_type(val, json_type_array) && is_record_list(key)) {
			len = json_object_array_length(val);
			for (i = 0; i < len; i++)
				n += text_chars(json_object_array_get_idx(val, i), false, images);
			continue;
		}
		n += text_chars(val, true, images);
	}
	return n;
}

int64_t
usage_prompt_chars(struct json_object *body, int64_t *images)
{
	int64_t n = 0, img = 0;

	if (body && json_object_is_type(body, json_type_object)) {
		/* The parameters' names are not prompt; the model's name is
		 * priced by the catalogue, not tokenized. */
		n = text_chars(body, false, &img) - str_chars(json_get(body, "model"));
	}
	if (images)
		*images = img;
	return n;
}

int64_t
usage_chunk_chars(struct json_object *chunk)
{
	struct json_object *choices = json_get(chunk, "choices");
	int64_t n = 0;
	size_t i, len;

	if (choices == NULL || !json_object_is_type(choices, json_type_array))
		return 0;
	len = json_object_array_length(choices);
	for (i = 0; i < len; i++) {
		struct json_object *c = json_object_array_get_idx(choices, i);
		struct json_object *d = json_get(c, "delta");
		struct json_object *tc;

		if (d == NULL)
			d = json_get(c, "message");
		n += str_chars(json_get(d, "content"));
		n += str_chars(json_get(d, "reasoning"));
		n += str_chars(json_get(d, "reasoning_content"));
		tc = json_get(d, "tool_calls");
		if (tc && json_object_is_type(tc, json_type_array)) {
			size_t j, m = json_object_array_length(tc);

			for (j = 0; j < m; j++)
				n += str_chars(json_get(json_get(json_object_array_get_idx(tc, j),
				    "function"), "arguments"));
		}
	}
	return n;
}
