/* Check suite for fcgi/router: exact and prefix matches, method mismatch,
 * first match wins. */
#include "config.h"

#include <check.h>
#include <stdlib.h>

#include "router.h"
#include "testlib.h"

static void h_a(struct req *r) { (void)r; }
static void h_b(struct req *r) { (void)r; }
static void h_c(struct req *r) { (void)r; }

static const struct route table[] = {
	{ "/v1/info", MATCH_EXACT, HTTP_M(HTTP_GET), AUTH_NONE, 0, h_a, "a", 0 },
	{ "/v1/chat/completions", MATCH_EXACT, HTTP_M(HTTP_POST), AUTH_KEY, 0, h_b, "b", 0 },
	{ "/v1/balance/", MATCH_PREFIX, HTTP_M(HTTP_GET) | HTTP_M(HTTP_POST), AUTH_KEY, 0, h_c, "c", 0 },
};

START_TEST(matches)
{
	int mm;
	const struct route *rt;

	rt = router_match(table, 3, "/v1/info", HTTP_GET, &mm);
	ck_assert_ptr_eq(rt, &table[0]);
	ck_assert_int_eq(mm, 0);
	rt = router_match(table, 3, "/v1/chat/completions", HTTP_POST, &mm);
	ck_assert_ptr_eq(rt, &table[1]);
	rt = router_match(table, 3, "/v1/balance/info", HTTP_GET, &mm);
	ck_assert_ptr_eq(rt, &table[2]);
}
END_TEST

START_TEST(misses)
{
	int mm;

	ck_assert_ptr_null(router_match(table, 3, "/v1/info/", HTTP_GET, &mm));
	ck_assert_int_eq(mm, 0);
	ck_assert_ptr_null(router_match(table, 3, "/v1/inf", HTTP_GET, &mm));
	ck_assert_ptr_null(router_match(table, 3, "/", HTTP_GET, &mm));
	ck_assert_ptr_null(router_match(table, 3, "/v1/info", HTTP_POST, &mm));
	ck_assert_int_eq(mm, 1);
	ck_assert_ptr_null(router_match(table, 3, "/v1/chat/completions", HTTP_GET, &mm));
	ck_assert_int_eq(mm, 1);
	ck_assert_ptr_null(router_match(table, 3, "/v1/balance/x", HTTP_DELETE, &mm));
	ck_assert_int_eq(mm, 1);
}
END_TEST

/* A fallback takes only paths no other route knows, and never makes a 405. */
static const struct route with_fallback[] = {
	{ "/v1/info", MATCH_EXACT, HTTP_M(HTTP_GET), AUTH_NONE, 0, h_a, "a", 0 },
	{ "/v1/", MATCH_FALLBACK, HTTP_M(HTTP_POST), AUTH_KEY, 0, h_b, "b", 0 },
};

START_TEST(fallback)
{
	int mm;

	ck_assert_ptr_eq(router_match(with_fallback, 2, "/v1/anything", HTTP_POST, &mm),
	    &with_fallback[1]);
	ck_assert_ptr_null(router_match(with_fallback, 2, "/v1/anything", HTTP_GET, &mm));
	ck_assert_int_eq(mm, 0);	/* 404, not 405 */
	ck_assert_ptr_null(router_match(with_fallback, 2, "/v1/info", HTTP_POST, &mm));
	ck_assert_int_eq(mm, 1);	/* 405: /v1/info is known, for GET */
	ck_assert_uint_eq(router_allowed(with_fallback, 2, "/v1/info"), HTTP_M(HTTP_GET));
	ck_assert_ptr_null(router_match(with_fallback, 2, "/v2/x", HTTP_POST, &mm));
}
END_TEST

Suite *
suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, matches);
	tcase_add_test(tc, misses);
	tcase_add_test(tc, fallback);
	suite_add_tcase(s, tc);
	return s;
}
