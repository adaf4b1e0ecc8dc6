/* usage: reading what an upstream says a request used, and estimating it when
 * it says nothing. The result feeds pricing_cost (lib/pricing.h). */
#ifndef ROUTSTR_USAGE_H
#define ROUTSTR_USAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include "pricing.h"

/* Fill u from a "usage" object in OpenAI's shape (prompt_tokens includes
 * cached tokens: prompt_tokens_details.cached_tokens), Anthropic's shape
 * (input_tokens plus cache_read_input_tokens / cache_creation_input_tokens)
 * or the Responses API's (input_tokens, input_tokens_details.cached_tokens,
 * output_tokens). Reasoning tokens come from completion_tokens_details or
 * output_tokens_details. Negative, fractional or non-numeric counts are 0.
 * Returns false (u zeroed, requests = 1) when usage is not an object.
 * usage is borrowed. */
bool usage_from_json(struct json_object *usage, struct pricing_usage *u);

/* Characters of everything in a chat request body the upstream may turn into
 * prompt tokens, as UTF-8 code points: every string value anywhere in the body
 * (message contents, names, tool calls and their arguments, image references,
 * tools and functions, response formats, ...) and the member names of nested
 * objects (a tool's JSON schema), but not the body's parameter names, the
 * field names of messages, content parts and input items, the "model" value,
 * or "role" and "type" values of up to 16 code points (structure words).
 * Image parts are also counted into *images. body is borrowed. */
int64_t usage_prompt_chars(struct json_object *body, int64_t *images);

/* Code points in the text of one chat.completion.chunk's deltas (content,
 * reasoning and tool-call arguments): what a stream has delivered so far, for
 * the estimate when no usage arrives. chunk is borrowed. */
int64_t usage_chunk_chars(struct json_object *chunk);

/* Code points of a UTF-8 string of n bytes. */
int64_t usage_codepoints(const char *s, size_t n);

#endif
