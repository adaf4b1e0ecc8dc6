/* Check suite for lib/sse: events are cut on blank lines whatever the
 * chunking, CRLF split across chunks included; the event cap holds. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"
#include "testlib.h"

struct seen {
	char ev[8][128];
	int n;
};

static int
collect(void *ud, const char *ev, size_t len)
{
	struct seen *s = ud;

	ck_assert_int_lt(s->n, 8);
	ck_assert_uint_lt(len, 128);
	memcpy(s->ev[s->n], ev, len);
	s->ev[s->n][len] = '\0';
	s->n++;
	return 0;
}

static const char stream[] =
    "data: {\"a\":1}\r\n\r\n: keepalive\r\n\r\nevent: x\r\ndata: two\r\ndata: lines\r\n\r\n"
    "data: [DONE]\n\n";

/* Feed the stream in every possible two-way split and in single bytes. */
START_TEST(any_chunking)
{
	size_t len = strlen(stream), cut;

	for (cut = 0; cut <= len; cut++) {
		struct sse s;
		struct seen got = { .n = 0 };

		sse_init(&s, 1024);
		ck_assert_int_eq(sse_feed(&s, stream, cut, collect, &got), 0);
		ck_assert_int_eq(sse_feed(&s, stream + cut, len - cut, collect, &got), 0);
		ck_assert_int_eq(sse_finish(&s, collect, &got), 0);
		ck_assert_int_eq(got.n, 4);
		ck_assert_str_eq(got.ev[0], "data: {\"a\":1}");
		ck_assert_str_eq(got.ev[1], ": keepalive");
		ck_assert_str_eq(got.ev[2], "event: x\ndata: two\ndata: lines");
		ck_assert_str_eq(got.ev[3], "data: [DONE]");
		sse_free(&s);
	}
	{
		struct sse s;
		struct seen got = { .n = 0 };
		size_t i;

		sse_init(&s, 1024);
		for (i = 0; i < len; i++)
			ck_assert_int_eq(sse_feed(&s, stream + i, 1, collect, &got), 0);
		ck_assert_int_eq(got.n, 4);
		sse_free(&s);
	}
}
END_TEST

START_TEST(cr_then_text_is_a_line_end)
{
	struct sse s;
	struct seen got = { .n = 0 };

	sse_init(&s, 1024);
	ck_assert_int_eq(sse_feed(&s, "data: a\rdata: b\n\n", 17, collect, &got), 0);
	ck_assert_int_eq(got.n, 1);
	ck_assert_str_eq(got.ev[0], "data: a\ndata: b");
	sse_free(&s);
}
END_TEST

START_TEST(data_and_comments)
{
	struct buf out;

	buf_init(&out, 1024);
	ck_assert_int_eq(sse_event_data("event: x\ndata: two\ndata:lines", 29, &out), 2);
	ck_assert_str_eq(out.data, "two\nlines");
	ck_assert_int_eq(sse_event_is_comment(": ping", 6), 1);
	ck_assert_int_eq(sse_event_is_comment("data: x", 7), 0);
	buf_free(&out);
}
END_TEST

START_TEST(truncated_tail_and_cap)
{
	struct sse s;
	struct seen got = { .n = 0 };
	char big[300];

	sse_init(&s, 256);
	ck_assert_int_eq(sse_feed(&s, "data: {\"partial", 15, collect, &got), 0);
	ck_assert_int_eq(got.n, 0);
	ck_assert_int_eq(sse_finish(&s, collect, &got), 0);
	ck_assert_int_eq(got.n, 1);
	ck_assert_str_eq(got.ev[0], "data: {\"partial");
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(sse_feed(&s, big, sizeof(big), collect, &got), -2);
	sse_free(&s);
}
END_TEST

Suite *
suite(void)
{
	Suite *s = suite_create("sse");
	TCase *tc = tcase_create("framing");

	tcase_add_test(tc, any_chunking);
	tcase_add_test(tc, cr_then_text_is_a_line_end);
	tcase_add_test(tc, data_and_comments);
	tcase_add_test(tc, truncated_tail_and_cap);
	suite_add_tcase(s, tc);
	return s;
}
