/* Check suite for lib/log's redactor and escaper: secrets never reach a log
 * line, and client bytes never break one. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "testlib.h"

static void
expect(const char *in, const char *want)
{
	char *got = log_redact(in);

	ck_assert_msg(strcmp(got, want) == 0, "redact(%s) = %s, want %s", in, got, want);
	free(got);
}

static void
hidden(const char *in, const char *secret)
{
	char *got = log_redact(in);

	ck_assert_msg(strstr(got, secret) == NULL, "secret %s survived in %s", secret, got);
	free(got);
}

START_TEST(bearer_and_keys)
{
	expect("Authorization: Bearer sk-abcdef0123456789", "Authorization: Bearer [REDACTED]");
	expect("header Bearer abcdefghijkl end", "header Bearer [REDACTED] end");
	expect("key sk-0123456789abcdef used", "key sk-[REDACTED] used");
	expect("sk-short stays", "sk-short stays");
	expect("nothing secret here", "nothing secret here");
	expect("", "");
}
END_TEST

START_TEST(cashu_tokens)
{
	hidden("token cashuBo2FteBtodHRwczovL21pbnQuZXhhbXBsZS5jb20 paid", "cashuBo2F");
	hidden("X-Cashu: cashuAeyJ0b2tlbiI6W3sibWludCI6Imh0dHBzOi8v", "eyJ0b2tl");
	expect("the word cashu alone", "the word cashu alone");
}
END_TEST

START_TEST(nsec_and_pairs)
{
	hidden("nsec1qqqsyqcyq5rqwzqfpg9scrgwpugpzysnzs23v9ccrydpk8qarc0jqgfmzxx", "qqqsyq");
	expect("api_key=sk-1", "api_key=[REDACTED]");
	expect("password: hunter2 ok", "password: [REDACTED] ok");
	expect("{\"api_key\": \"abc def\"}", "{\"api_key\": \"[REDACTED]\"}");
	expect("UPSTREAM_API_KEY=xyz", "UPSTREAM_API_KEY=[REDACTED]");
	expect("monkey=banana", "monkey=banana");
	expect("key", "key");
}
END_TEST

static void
escaped(const char *in, const char *want)
{
	char *got = log_escape(in);

	ck_assert_msg(strcmp(got, want) == 0, "escape(%s) = %s, want %s", in, got, want);
	free(got);
}

START_TEST(control_chars)
{
	escaped("path=/v1/\nrequest id=forged", "path=/v1/\\x0arequest id=forged");
	escaped("a\r\tb\x1b[31m\x7f", "a\\x0d\\x09b\\x1b[31m\\x7f");
	escaped("back\\slash", "back\\x5cslash");
	escaped("plain ascii and caf\xc3\xa9", "plain ascii and caf\xc3\xa9");
	escaped("", "");
}
END_TEST

Suite *
suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("redact");

	tcase_add_test(tc, bearer_and_keys);
	tcase_add_test(tc, cashu_tokens);
	tcase_add_test(tc, nsec_and_pairs);
	tcase_add_test(tc, control_chars);
	suite_add_tcase(s, tc);
	return s;
}
