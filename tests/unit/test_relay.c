/* Check suite for lib/relay's pure parts: what an endpoint reads from a
 * request and how it rewrites it, which stream events carry the usage, and
 * how an upstream's error is read (rate limits, organisation ids). The I/O
 * of the engine is tested end to end (tests/e2e/surface.test.mjs). */
#include "config.h"

#include <check.h>
#include <string.h>

#include "json.h"
#include "relay/relay.h"
#include "testlib.h"

static struct json_object *
parse(const char *s)
{
	struct json_object *o = json_parse_strict(s, strlen(s), NULL);

	ck_assert_ptr_nonnull(o);
	return o;
}

START_TEST(t_find)
{
	ck_assert_str_eq(relay_endpoint_find("chat/completions")->name, "chat");
	ck_assert_str_eq(relay_endpoint_find("audio/transcriptions")->name, "transcription");
	ck_assert_int_eq(relay_endpoint_find("audio/transcriptions")->body, RELAY_BODY_MULTIPART);
	ck_assert_ptr_null(relay_endpoint_find("chat/completions/"));
	ck_assert_ptr_null(relay_endpoint_find("fine_tuning/jobs"));
	ck_assert(relay_endpoint_find("messages/count_tokens")->free);
	ck_assert(relay_endpoint_find("audio/speech")->binary);
}
END_TEST

START_TEST(t_read)
{
	struct json_object *b = parse("{\"model\":\"m\",\"stream\":true,\"max_tokens\":10,"
	    "\"max_completion_tokens\":40,\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}");
	struct relay_ask a;

	relay_read_json(relay_endpoint_find("chat/completions"), b, &a);
	ck_assert_str_eq(a.model, "m");
	ck_assert(a.stream);
	ck_assert(!a.stream_usage);
	ck_assert_int_eq(a.max_tokens, 40);	/* the larger bounds the answer */
	ck_assert_int_gt(a.prompt_chars, 4);
	json_object_put(b);

	/* embeddings never stream, and answer no tokens */
	b = parse("{\"model\":\"e\",\"stream\":true,\"input\":\"abc\"}");
	relay_read_json(relay_endpoint_find("embeddings"), b, &a);
	ck_assert(!a.stream);
	ck_assert_int_eq(a.max_tokens, 0);
	json_object_put(b);

	b = parse("{\"model\":\"r\",\"input\":\"x\",\"max_output_tokens\":7}");
	relay_read_json(relay_endpoint_find("responses"), b, &a);
	ck_assert_int_eq(a.max_tokens, 7);
	json_object_put(b);

	b = parse("{\"model\":\"i\",\"prompt\":\"x\",\"n\":3}");
	relay_read_json(relay_endpoint_find("images/generations"), b, &a);
	ck_assert_int_eq(a.images_out, 3);
	json_object_put(b);
	b = parse("{\"model\":\"i\",\"prompt\":\"x\",\"n\":\"3\"}");
	relay_read_json(relay_endpoint_find("images/generations"), b, &a);
	ck_assert_int_eq(a.images_out, 1);	/* not an integer: the default */
	json_object_put(b);
}
END_TEST

START_TEST(t_prepare)
{
	const struct relay_endpoint *chat = relay_endpoint_find("chat/completions");
	struct json_object *b = parse("{\"model\":\"alias\",\"stream\":true,\"messages\":[]}");
	struct relay_ask a;

	relay_read_json(chat, b, &a);
	ck_assert(relay_prepare_json(chat, b, "provider/id", &a));
	ck_assert_str_eq(json_get_str(b, "model"), "provider/id");
	ck_assert(json_object_get_boolean(json_get(json_get(b, "stream_options"), "include_usage")));
	ck_assert(!a.stream_usage);	/* the client did not ask: it will not see it */
	json_object_put(b);

	/* nothing to change: the client's bytes go */
	b = parse("{\"model\":\"id\",\"input\":\"x\"}");
	relay_read_json(relay_endpoint_find("embeddings"), b, &a);
	ck_assert(!relay_prepare_json(relay_endpoint_find("embeddings"), b, "id", &a));
	json_object_put(b);

	/* the Responses API has no stream_options */
	b = parse("{\"model\":\"id\",\"input\":\"x\",\"stream\":true}");
	relay_read_json(relay_endpoint_find("responses"), b, &a);
	ck_assert(!relay_prepare_json(relay_endpoint_find("responses"), b, "id", &a));
	ck_assert_ptr_null(json_get(b, "stream_options"));
	json_object_put(b);
}
END_TEST

START_TEST(t_events)
{
	struct relay_ask ask = { 0 };
	struct relay_call call = { 0 };
	struct relay_stream s;
	struct json_object *o;

	call.ask = &ask;
	call.public_model = "m";
	memset(&s, 0, sizeof(s));
	s.call = &call;

	/* chat: a usage-only chunk is held, a content chunk with usage is not */
	call.ep = relay_endpoint_find("chat/completions");
	o = parse("{\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}");
	ck_assert_int_eq(call.ep->event(&s, "", o), RELAY_EV_HOLD);
	ck_assert_ptr_nonnull(s.meter.usage);
	json_object_put(o);
	o = parse("{\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"usage\":null}");
	ck_assert_int_eq(call.ep->event(&s, "", o), RELAY_EV_EMIT);
	ck_assert_int_eq(call.ep->out_chars(o, ""), 2);
	json_object_put(o);
	json_object_put(s.meter.usage);
	memset(&s.meter, 0, sizeof(s.meter));

	/* responses: the usage of response.completed, which is held */
	call.ep = relay_endpoint_find("responses");
	o = parse("{\"type\":\"response.output_text.delta\",\"delta\":\"abc\"}");
	ck_assert_int_eq(call.ep->event(&s, "response.output_text.delta", o), RELAY_EV_EMIT);
	ck_assert_int_eq(call.ep->out_chars(o, "response.output_text.delta"), 3);
	json_object_put(o);
	o = parse("{\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":5,"
	    "\"output_tokens\":6}}}");
	ck_assert_int_eq(call.ep->event(&s, "response.completed", o), RELAY_EV_HOLD);
	ck_assert_int_eq(json_object_get_int(json_get(s.meter.usage, "output_tokens")), 6);
	json_object_put(o);
	json_object_put(s.meter.usage);
	memset(&s.meter, 0, sizeof(s.meter));

	/* messages: input from message_start, output from message_delta,
	 * never added twice */
	call.ep = relay_endpoint_find("messages");
	o = parse("{\"type\":\"message_start\",\"message\":{\"model\":\"up\",\"usage\":"
	    "{\"input_tokens\":10,\"output_tokens\":1,\"cache_read_input_tokens\":4}}}");
	ck_assert_int_eq(call.ep->event(&s, "message_start", o), RELAY_EV_EMIT);
	ck_assert_str_eq(json_get_str(json_get(o, "message"), "model"), "m");
	json_object_put(o);
	o = parse("{\"type\":\"message_delta\",\"usage\":{\"input_tokens\":10,\"output_tokens\":7}}");
	call.ep->event(&s, "message_delta", o);
	json_object_put(o);
	ck_assert_int_eq(json_object_get_int(json_get(s.meter.usage, "input_tokens")), 10);
	ck_assert_int_eq(json_object_get_int(json_get(s.meter.usage, "output_tokens")), 7);
	ck_assert_int_eq(json_object_get_int(json_get(s.meter.usage, "cache_read_input_tokens")), 4);
	json_object_put(s.meter.usage);
}
END_TEST

START_TEST(t_rate_limit)
{
	struct json_object *d;
	double secs;
	const char *msg = "Rate limit reached for gpt-4o in organization org-abcdefgh on tokens "
	    "per min (TPM): Limit 30000, Used 29000, Requested 8929. Please try again in 150ms.";

	ck_assert(relay_is_rate_limit(429, NULL));
	ck_assert(relay_is_rate_limit(500, "upstream said: Too Many Requests"));
	ck_assert(!relay_is_rate_limit(500, "internal error"));
	d = relay_rate_details(msg, NULL, &secs);
	ck_assert_str_eq(json_get_str(d, "model"), "gpt-4o");
	ck_assert_str_eq(json_get_str(d, "metric"), "tokens per min (TPM)");
	ck_assert_int_eq(json_object_get_int64(json_get(d, "limit")), 30000);
	ck_assert_int_eq(json_object_get_int64(json_get(d, "used")), 29000);
	ck_assert_int_eq(json_object_get_int64(json_get(d, "requested")), 8929);
	ck_assert(secs > 0.149 && secs < 0.151);
	json_object_put(d);
	/* the header wins over the words */
	d = relay_rate_details(msg, "7", &secs);
	ck_assert(secs == 7);
	json_object_put(d);
	d = relay_rate_details("slow down", NULL, &secs);
	ck_assert(secs < 0);
	ck_assert_ptr_null(json_get(d, "limit"));
	json_object_put(d);
}
END_TEST

START_TEST(t_redact)
{
	char a[128] = "in org-abcdefghijk and org-abc123, not org-ab1 nor org-";
	char b[64] = "org-abcdef";

	relay_redact_org(a);
	ck_assert_str_eq(a, "in org-[REDACTED] and org-[REDACTED], not org-ab1 nor org-");
	relay_redact_org(b);
	ck_assert_str_eq(b, "org-[REDACTED]");
}
END_TEST

/* The bill: a stream cut before its final usage is billed at least by what
 * was relayed; images by the answer's count; n multiplies the worst case. */
START_TEST(t_bill)
{
	struct relay_ask ask = { 0 };
	struct relay_meter m;
	struct relay_bill b;
	struct pricing_cost pc;
	int64_t one, two;
	bool est;

	memset(&b, 0, sizeof(b));
	b.ep = relay_endpoint_find("messages");
	b.ask = &ask;
	b.pp.fixed = true;	/* 1 msat per 1000 tokens each way is easy to follow */
	b.pp.fixed_in_msat_per_1k = 1000;
	b.pp.fixed_out_msat_per_1k = 1000000;
	b.reserved = 1000000000;
	ask.outputs = 1;
	memset(&m, 0, sizeof(m));
	m.usage = parse("{\"input_tokens\":10,\"output_tokens\":1}");
	m.out_chars = 3000;	/* 1000 tokens relayed before the cut */
	relay_bill_cost(&b, &m, &pc, &est);
	ck_assert(est);
	ck_assert_int_ge(pc.total_msat, 1000000);	/* 1000 output tokens, not 1 */
	m.usage_final = true;	/* message_delta came: its count is the truth */
	relay_bill_cost(&b, &m, &pc, &est);
	ck_assert(!est);
	ck_assert_int_lt(pc.total_msat, 10000);
	json_object_put(m.usage);

	/* n answers: the worst case grows with them */
	b.ep = relay_endpoint_find("chat/completions");
	ask.max_tokens = 100;
	ck_assert_int_eq(relay_bill_price(&b), RERR_OK);
	one = b.reserved;
	ask.outputs = 4;
	ck_assert_int_eq(relay_bill_price(&b), RERR_OK);
	two = b.reserved;
	ck_assert_int_gt(two, 3 * one);
}
END_TEST

Suite *
suite(void)
{
	Suite *s = suite_create("relay");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, t_find);
	tcase_add_test(tc, t_read);
	tcase_add_test(tc, t_prepare);
	tcase_add_test(tc, t_events);
	tcase_add_test(tc, t_rate_limit);
	tcase_add_test(tc, t_redact);
	tcase_add_test(tc, t_bill);
	suite_add_tcase(s, tc);
	return s;
}
