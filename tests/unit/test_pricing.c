/* test_pricing: exact msat results of lib/pricing against a fixed price
 * table and a fixed BTC price, worked out by hand in the comments. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "pricing.h"
#include "testlib.h"

/* BTC at 100,000 USD: 1 USD = 1000 sat = 1,000,000 msat, so 1e-6 USD (1e9
 * fUSD) is exactly 1 msat. */
#define BTC_100K 100000000000LL

/* Model A, gpt-4o-like: prompt 2.5 USD/M tokens, completion 10 USD/M,
 * cache read 1.25 USD/M, context 128000, max completion 16384. */
static struct pricing_model
model_a(void)
{
	struct pricing_model m;

	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(pricing_parse_usd("0.0000025", &m.fusd[PRICING_PROMPT]), RERR_OK);
	ck_assert_int_eq(pricing_parse_usd("0.00001", &m.fusd[PRICING_COMPLETION]), RERR_OK);
	ck_assert_int_eq(pricing_parse_usd("0.00000125", &m.fusd[PRICING_CACHE_READ]), RERR_OK);
	m.context_length = 128000;
	m.top_context_length = 128000;
	m.max_completion_tokens = 16384;
	return m;
}

/* No fees, BTC 100k, no tolerance, MIN_REQUEST_MSAT 1. */
static struct pricing_params
params_plain(void)
{
	struct pricing_params p;

	memset(&p, 0, sizeof(p));
	p.btc_usd_micro = BTC_100K;
	p.exchange_fee_ppm = 1000000;
	p.provider_fee_ppm = 1000000;
	p.tolerance_ppm = 0;
	p.min_request_msat = 1;
	return p;
}

/* Routstr's defaults: EXCHANGE_FEE 1.005 x UPSTREAM_PROVIDER_FEE 1.05 =
 * 1.05525, tolerance 1 %. */
static struct pricing_params
params_fees(void)
{
	struct pricing_params p = params_plain();

	p.exchange_fee_ppm = 1005000;
	p.provider_fee_ppm = 1050000;
	p.tolerance_ppm = 1000000;
	return p;
}

START_TEST(parse_usd)
{
	int64_t v;

	ck_assert_int_eq(pricing_parse_usd("0.0000025", &v), RERR_OK);
	ck_assert_int_eq(v, 2500000000LL);		/* 2.5e-6 USD = 2.5e9 fUSD */
	ck_assert_int_eq(pricing_parse_usd("0.00000015", &v), RERR_OK);
	ck_assert_int_eq(v, 150000000LL);
	ck_assert_int_eq(pricing_parse_usd("2.5e-06", &v), RERR_OK);
	ck_assert_int_eq(v, 2500000000LL);
	ck_assert_int_eq(pricing_parse_usd("2.5E+1", &v), RERR_OK);
	ck_assert_int_eq(v, 25000000000000000LL);
	ck_assert_int_eq(pricing_parse_usd("15", &v), RERR_OK);
	ck_assert_int_eq(v, 15000000000000000LL);
	ck_assert_int_eq(pricing_parse_usd("0", &v), RERR_OK);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(pricing_parse_usd(".5", &v), RERR_OK);
	ck_assert_int_eq(v, 500000000000000LL);
	ck_assert_int_eq(pricing_parse_usd("0e999", &v), RERR_OK);
	ck_assert_int_eq(v, 0);
	/* 1e-16 USD is below one fUSD: rounded up, never to zero. */
	ck_assert_int_eq(pricing_parse_usd("0.0000000000000001", &v), RERR_OK);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(pricing_parse_usd("0.0000000000000010000", &v), RERR_OK);
	ck_assert_int_eq(v, 1);
	/* The largest representable price, and one fUSD more. */
	ck_assert_int_eq(pricing_parse_usd("9223.372036854775807", &v), RERR_OK);
	ck_assert_int_eq(v, INT64_MAX);
	ck_assert_int_eq(pricing_parse_usd("9223.372036854775808", &v), RERR_TOO_LARGE);
	ck_assert_int_eq(pricing_parse_usd("9223.3720368547758071", &v), RERR_TOO_LARGE);
	ck_assert_int_eq(pricing_parse_usd("1e999", &v), RERR_TOO_LARGE);
	/* Junk and negatives (OpenRouter's "-1" = variable price). */
	ck_assert_int_eq(pricing_parse_usd("-1", &v), RERR_INVALID);
	ck_assert_int_eq(pricing_parse_usd("", &v), RERR_INVALID);
	ck_assert_int_eq(pricing_parse_usd(".", &v), RERR_INVALID);
	ck_assert_int_eq(pricing_parse_usd("1.2.3", &v), RERR_INVALID);
	ck_assert_int_eq(pricing_parse_usd("1e", &v), RERR_INVALID);
	ck_assert_int_eq(pricing_parse_usd("0x10", &v), RERR_INVALID);
	ck_assert_int_eq(pricing_parse_usd(" 1", &v), RERR_INVALID);
	ck_assert_int_eq(pricing_parse_usd("1e100000000000", &v), RERR_INVALID);
	ck_assert_int_eq(pricing_parse_usd(
	    "0.00000000000000000000000000000000000000000000000000000000000000001", &v),
	    RERR_INVALID);	/* over the 64-character cap */
	ck_assert_int_eq(pricing_parse_usd(NULL, &v), RERR_INVALID);
}
END_TEST

START_TEST(parse_btc)
{
	int64_t v;

	ck_assert_int_eq(pricing_parse_btc_usd("97123.45", &v), RERR_OK);
	ck_assert_int_eq(v, 97123450000LL);
	/* Digits past micro-USD are truncated: a lower price charges more. */
	ck_assert_int_eq(pricing_parse_btc_usd("97123.4567899", &v), RERR_OK);
	ck_assert_int_eq(v, 97123456789LL);
	ck_assert_int_eq(pricing_parse_btc_usd("0", &v), RERR_INVALID);
	ck_assert_int_eq(pricing_parse_btc_usd("0.0000001", &v), RERR_INVALID);
	ck_assert_int_eq(pricing_parse_btc_usd("abc", &v), RERR_INVALID);
}
END_TEST

START_TEST(cost_plain)
{
	struct pricing_model m = model_a();
	struct pricing_params p = params_plain();
	struct pricing_usage u = { .input = 1000, .output = 500 };
	struct pricing_cost c;

	/* 1000 x 2.5e-6 + 500 x 1e-5 = 0.0025 + 0.005 = 0.0075 USD
	 * = 7.5 sat = 7500 msat, exactly; output share 0.005 USD = 5000. */
	ck_assert_int_eq(pricing_cost(&p, &m, &u, &c), RERR_OK);
	ck_assert_int_eq(c.total_msat, 7500);
	ck_assert_int_eq(c.output_msat, 5000);
	ck_assert_int_eq(c.input_msat, 2500);
	ck_assert_int_eq(c.usd_fusd, 7500000000000LL);	/* 0.0075 USD */
}
END_TEST

START_TEST(cost_fees)
{
	struct pricing_model m = model_a();
	struct pricing_params p = params_fees();
	struct pricing_usage u = { .input = 1000, .output = 500 };
	struct pricing_cost c;
	char buf[64];

	/* 0.0075 USD x 1.005 x 1.05 = 0.007914375 USD = 7914.375 msat -> up
	 * to 7915. Output 0.005 x 1.05525 = 5276.25 msat -> down to 5276;
	 * input gets the rest, 2639. Tolerance plays no part in charges. */
	ck_assert_int_eq(pricing_cost(&p, &m, &u, &c), RERR_OK);
	ck_assert_int_eq(c.total_msat, 7915);
	ck_assert_int_eq(c.output_msat, 5276);
	ck_assert_int_eq(c.input_msat, 2639);
	ck_assert_int_eq(c.usd_fusd, 7914375000000LL);
	ck_assert_str_eq(pricing_fmt_fusd(c.usd_fusd, buf, sizeof(buf)), "0.007914375");
}
END_TEST

START_TEST(cost_rounding)
{
	struct pricing_model m = model_a();
	struct pricing_params p = params_plain();
	struct pricing_usage u = { .input = 1 };
	struct pricing_cost c;
	int64_t msat;

	/* One prompt token: 2.5e-6 USD = 2.5 msat -> charged 3. */
	ck_assert_int_eq(pricing_cost(&p, &m, &u, &c), RERR_OK);
	ck_assert_int_eq(c.total_msat, 3);
	/* Two tokens: exactly 5, no rounding. */
	u.input = 2;
	ck_assert_int_eq(pricing_cost(&p, &m, &u, &c), RERR_OK);
	ck_assert_int_eq(c.total_msat, 5);
	/* 0.15 USD/M (1.5e8 fUSD) x 1 token = 0.15 msat -> 1, never 0. */
	m.fusd[PRICING_PROMPT] = 150000000;
	u.input = 1;
	ck_assert_int_eq(pricing_cost(&p, &m, &u, &c), RERR_OK);
	ck_assert_int_eq(c.total_msat, 1);
	/* The rounding is on the sum, not per bucket: 3 x 0.15 + ... 6 tokens
	 * = 0.9 msat -> 1; 7 tokens = 1.05 -> 2. */
	u.input = 6;
	ck_assert_int_eq(pricing_cost(&p, &m, &u, &c), RERR_OK);
	ck_assert_int_eq(c.total_msat, 1);
	u.input = 7;
	ck_assert_int_eq(pricing_cost(&p, &m, &u, &c), RERR_OK);
	ck_assert_int_eq(c.total_msat, 2);
	/* No usage at all: free (nothing was produced). */
	memset(&u, 0, sizeof(u));
	ck_assert_int_eq(pricing_cost(&p, &m, &u, &c), RERR_OK);
	ck_assert_int_eq(c.total_msat, 0);
	/* MIN_REQUEST_MSAT is a floor on any non-empty charge. */
	p.min_request_msat = 5000;
	u.input = 1;
	ck_assert_int_eq(pricing_cost(&p, &m, &u, &c), RERR_OK);
	ck_assert_int_eq(c.total_msat, 5000);
	ck_assert_int_eq(c.input_msat + c.output_msat, 5000);
	/* Upstream-reported USD: 0.0000011 USD x 1.05525 = 1.1607750 msat
	 * -> 2 (BTC 100k). */
	p = params_fees();
	ck_assert_int_eq(pricing_cost_from_usd(&p, 1100000000LL, &msat), RERR_OK);
	ck_assert_int_eq(msat, 2);
	ck_assert_int_eq(pricing_cost_from_usd(&p, 1000000000LL, &msat), RERR_OK);
	ck_assert_int_eq(msat, 2);	/* 1.05525 -> 2 */
	p.exchange_fee_ppm = p.provider_fee_ppm = 1000000;
	ck_assert_int_eq(pricing_cost_from_usd(&p, 1000000000LL, &msat), RERR_OK);
	ck_assert_int_eq(msat, 1);	/* exactly 1 */
	/* Payouts round down, sat liabilities round up. */
	ck_assert_int_eq(pricing_msat_to_sat_floor(1999), 1);
	ck_assert_int_eq(pricing_msat_to_sat_floor(2000), 2);
	ck_assert_int_eq(pricing_msat_to_sat_floor(-5), 0);
	ck_assert_int_eq(pricing_msat_to_sat_ceil(1001), 2);
	ck_assert_int_eq(pricing_msat_to_sat_ceil(1000), 1);
	ck_assert_int_eq(pricing_msat_to_sat_ceil(0), 0);
}
END_TEST

START_TEST(cost_buckets)
{
	struct pricing_model m = model_a();
	struct pricing_params p = params_plain();
	struct pricing_usage u;
	struct pricing_cost c;

	/* Cache: 200 x 2.5e-6 + 800 x 1.25e-6 = 0.0005 + 0.001 = 0.0015 USD
	 * = 1500 msat. */
	memset(&u, 0, sizeof(u));
	u.input = 200;
	u.cache_read = 800;
	ck_assert_int_eq(pricing_cost(&p, &m, &u, &c), RERR_OK);
	ck_assert_int_eq(c.total_msat, 1500);
	/* No cache price stated: cache reads cost the prompt price, 2500. */
	m.fusd[PRICING_CACHE_READ] = 0;
	ck_assert_int_eq(pricing_cost(&p, &m, &u, &c), RERR_OK);
	ck_assert_int_eq(c.total_msat, 2500);
	/* Cache write at 3.125e-6: 100 x 3.125e-6 = 0.0003125 USD = 312.5
	 * msat -> 313. */
	memset(&u, 0, sizeof(u));
	u.cache_write = 100;
	ck_assert_int_eq(pricing_parse_usd("0.000003125", &m.fusd[PRICING_CACHE_WRITE]), RERR_OK);
	ck_assert_int_eq(pricing_cost(&p, &m, &u, &c), RERR_OK);
	ck_assert_int_eq(c.total_msat, 313);
	/* Reasoning priced at 2e-5: output 100 of which 40 reasoning =
	 * 60 x 1e-5 + 40 x 2e-5 = 0.0006 + 0.0008 = 1400 msat. */
	memset(&u, 0, sizeof(u));
	u.output = 100;
	u.reasoning = 40;
	ck_assert_int_eq(pricing_parse_usd("0.00002", &m.fusd[PRICING_REASONING]), RERR_OK);
	ck_assert_int_eq(pricing_cost(&p, &m, &u, &c), RERR_OK);
	ck_assert_int_eq(c.total_msat, 1400);
	ck_assert_int_eq(c.output_msat, 1400);
	/* reasoning > output is capped at output: 100 x 2e-5 = 2000. */
	u.reasoning = 1000;
	ck_assert_int_eq(pricing_cost(&p, &m, &u, &c), RERR_OK);
	ck_assert_int_eq(c.total_msat, 2000);
	/* No reasoning price: all output at the completion price, 1000. */
	m.fusd[PRICING_REASONING] = 0;
	u.reasoning = 40;
	ck_assert_int_eq(pricing_cost(&p, &m, &u, &c), RERR_OK);
	ck_assert_int_eq(c.total_msat, 1000);
	/* Per request 0.001 USD + 2 images at 0.0001 = 0.0012 USD = 1200. */
	memset(&u, 0, sizeof(u));
	u.requests = 1;
	u.images = 2;
	ck_assert_int_eq(pricing_parse_usd("0.001", &m.fusd[PRICING_REQUEST]), RERR_OK);
	ck_assert_int_eq(pricing_parse_usd("0.0001", &m.fusd[PRICING_IMAGE]), RERR_OK);
	ck_assert_int_eq(pricing_cost(&p, &m, &u, &c), RERR_OK);
	ck_assert_int_eq(c.total_msat, 1200);
	ck_assert_int_eq(c.output_msat, 0);
	/* OpenAI prompt_tokens include the cached ones. */
	ck_assert_int_eq(pricing_usage_split_prompt(1000, 800, 0), 200);
	ck_assert_int_eq(pricing_usage_split_prompt(1000, 800, 300), 0);
	ck_assert_int_eq(pricing_usage_split_prompt(-5, 0, 0), 0);
	ck_assert_int_eq(pricing_tokens_from_chars(9), 3);
	ck_assert_int_eq(pricing_tokens_from_chars(10), 4);
	ck_assert_int_eq(pricing_tokens_from_chars(0), 0);
}
END_TEST

START_TEST(cost_errors)
{
	struct pricing_model m = model_a();
	struct pricing_params p = params_fees();
	struct pricing_usage u = { .input = INT64_MAX };
	struct pricing_cost c;
	int64_t msat;
	int i;

	/* 9.2e18 tokens x 2.5e-6 USD = 2.3e13 USD: far past INT64 msat. */
	ck_assert_int_eq(pricing_cost(&p, &m, &u, &c), RERR_TOO_LARGE);
	ck_assert_int_eq(c.total_msat, 0);
	/* Every bucket and every price at the maximum: the 128-bit sum itself
	 * overflows, and is caught. */
	for (i = 0; i < PRICING__MAX; i++)
		m.fusd[i] = INT64_MAX;
	u.output = u.cache_read = u.cache_write = u.requests = u.images = INT64_MAX;
	u.web_searches = INT64_MAX;
	ck_assert_int_eq(pricing_cost(&p, &m, &u, &c), RERR_TOO_LARGE);
	/* Largest that still fits: 9.2e18 msat at 1 msat per token. */
	m = model_a();
	p = params_plain();
	m.fusd[PRICING_PROMPT] = 1000000000LL;	/* 1e-6 USD = 1 msat */
	memset(&u, 0, sizeof(u));
	u.input = INT64_MAX;
	ck_assert_int_eq(pricing_cost(&p, &m, &u, &c), RERR_OK);
	ck_assert_int_eq(c.total_msat, INT64_MAX);
	u.requests = 1;
	m.fusd[PRICING_REQUEST] = 1000000000LL;
	ck_assert_int_eq(pricing_cost(&p, &m, &u, &c), RERR_TOO_LARGE);
	/* Negative counts, negative prices, no BTC price, no model. */
	m = model_a();
	memset(&u, 0, sizeof(u));
	u.input = -1;
	ck_assert_int_eq(pricing_cost(&p, &m, &u, &c), RERR_INVALID);
	u.input = 1;
	m.fusd[PRICING_COMPLETION] = -1;
	ck_assert_int_eq(pricing_cost(&p, &m, &u, &c), RERR_INVALID);
	m = model_a();
	p.btc_usd_micro = 0;
	ck_assert_int_eq(pricing_cost(&p, &m, &u, &c), RERR_INVALID);
	ck_assert_int_eq(pricing_cost_from_usd(&p, 5, &msat), RERR_INVALID);
	p = params_plain();
	ck_assert_int_eq(pricing_cost(&p, NULL, &u, &c), RERR_INVALID);
	ck_assert_int_eq(pricing_cost_from_usd(&p, INT64_MAX, &msat), RERR_OK);
	/* 9.2e18 fUSD = 9223 USD = 9.2e9 msat at 100k. */
	ck_assert_int_eq(msat, 9223372037LL);
	p.btc_usd_micro = 1;	/* 1e-6 USD per BTC: absurd, must not wrap */
	ck_assert_int_eq(pricing_cost_from_usd(&p, INT64_MAX, &msat), RERR_TOO_LARGE);
}
END_TEST

/* muldiv against plain 128-bit arithmetic on values small enough for it. */
START_TEST(cost_random)
{
	uint64_t x = 88172645463325252ULL;
	int i;

	for (i = 0; i < 20000; i++) {
		struct pricing_params p = params_plain();
		int64_t usd, msat;
		unsigned __int128 num, den, want;

		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		usd = (int64_t)(x % 1000000000000ULL);
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		p.exchange_fee_ppm = 1000000 + (int64_t)(x % 9000000);
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		p.provider_fee_ppm = 1000000 + (int64_t)(x % 9000000);
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		p.btc_usd_micro = 1000000 + (int64_t)(x % 100000000000000ULL);
		num = (unsigned __int128)usd * (uint64_t)p.exchange_fee_ppm *
		    (uint64_t)p.provider_fee_ppm;
		den = (unsigned __int128)(uint64_t)p.btc_usd_micro * 10000000000ULL;
		want = num / den + (num % den != 0);
		if (want > INT64_MAX)
			continue;
		ck_assert_int_eq(pricing_cost_from_usd(&p, usd, &msat), RERR_OK);
		ck_assert(msat == (int64_t)want);
	}
}
END_TEST

START_TEST(fixed_mode)
{
	struct pricing_params p = params_plain();
	struct pricing_request r = { .prompt_tokens = 1000, .max_tokens = 500 };
	struct pricing_usage u;
	struct pricing_cost c;
	int64_t msat;

	p.fixed = true;
	p.btc_usd_micro = 0;	/* fixed mode needs no BTC price */
	p.fixed_request_msat = 1000;	/* FIXED_COST_PER_REQUEST = 1 sat */
	/* Rates zero: the flat fee is the reservation and the charge. */
	ck_assert_int_eq(pricing_max_cost(&p, NULL, &r, &msat), RERR_OK);
	ck_assert_int_eq(msat, 1000);
	memset(&u, 0, sizeof(u));
	u.requests = 1;
	u.input = 5000;
	u.output = 900;
	ck_assert_int_eq(pricing_cost(&p, NULL, &u, &c), RERR_OK);
	ck_assert_int_eq(c.total_msat, 1000);
	/* MIN_REQUEST_MSAT above the flat fee wins. */
	p.min_request_msat = 5000;
	ck_assert_int_eq(pricing_max_cost(&p, NULL, &r, &msat), RERR_OK);
	ck_assert_int_eq(msat, 5000);
	p.min_request_msat = 1;
	/* 2 sat / 1k input, 5 sat / 1k output (2000 and 5000 msat per 1k).
	 * Reservation: 1000 x 2 + 500 x 5 = 4500 msat of tokens + 1000 = 5500;
	 * with 1 % tolerance on the token part 4455 + 1000 = 5455. */
	p.fixed_in_msat_per_1k = 2000;
	p.fixed_out_msat_per_1k = 5000;
	ck_assert_int_eq(pricing_max_cost(&p, NULL, &r, &msat), RERR_OK);
	ck_assert_int_eq(msat, 5500);
	p.tolerance_ppm = 1000000;
	ck_assert_int_eq(pricing_max_cost(&p, NULL, &r, &msat), RERR_OK);
	ck_assert_int_eq(msat, 5455);
	/* Charge: (1234 + 100 cached) x 2 = 2668 msat, 567 x 5 = 2835 msat,
	 * + 1000 flat = 6503; output share 2835, input 3668. An upstream USD
	 * cost is ignored in fixed mode (the handler does not ask for it). */
	memset(&u, 0, sizeof(u));
	u.requests = 1;
	u.input = 1234;
	u.cache_read = 100;
	u.output = 567;
	ck_assert_int_eq(pricing_cost(&p, NULL, &u, &c), RERR_OK);
	ck_assert_int_eq(c.total_msat, 6503);
	ck_assert_int_eq(c.output_msat, 2835);
	ck_assert_int_eq(c.input_msat, 3668);
	/* Rounding: 1 token at 1 msat per 1k = 0.001 msat -> 1 (+ flat 0). */
	p.fixed_request_msat = 0;
	p.fixed_in_msat_per_1k = 1;
	memset(&u, 0, sizeof(u));
	u.input = 1;
	ck_assert_int_eq(pricing_cost(&p, NULL, &u, &c), RERR_OK);
	ck_assert_int_eq(c.total_msat, 1);
	/* Overflow in fixed mode is caught too. */
	u.input = INT64_MAX;
	p.fixed_in_msat_per_1k = 100000000000LL;
	ck_assert_int_eq(pricing_cost(&p, NULL, &u, &c), RERR_TOO_LARGE);
}
END_TEST

START_TEST(max_cost_model)
{
	struct pricing_model m = model_a();
	struct pricing_params p = params_plain();
	struct pricing_request r = { .prompt_tokens = 1000, .max_tokens = 500 };
	int64_t msat;

	/* 1000 x 2.5e-6 + 500 x 1e-5 = 7500 msat (no fee, no tolerance). */
	ck_assert_int_eq(pricing_max_cost(&p, &m, &r, &msat), RERR_OK);
	ck_assert_int_eq(msat, 7500);
	/* 1 % tolerance: 7500 x 0.99 = 7425. */
	p.tolerance_ppm = 1000000;
	ck_assert_int_eq(pricing_max_cost(&p, &m, &r, &msat), RERR_OK);
	ck_assert_int_eq(msat, 7425);
	/* Fees and tolerance: 7914.375 x 0.99 = 7835.23125 -> 7836. */
	p = params_fees();
	ck_assert_int_eq(pricing_max_cost(&p, &m, &r, &msat), RERR_OK);
	ck_assert_int_eq(msat, 7836);
	p = params_plain();
	/* No max_tokens: the model's max completion, 16384 x 1e-5 = 163840
	 * + 2500 = 166340. */
	r.max_tokens = -1;
	ck_assert_int_eq(pricing_max_cost(&p, &m, &r, &msat), RERR_OK);
	ck_assert_int_eq(msat, 166340);
	/* max_tokens above the model's max completion is capped by it. */
	r.max_tokens = 1000000;
	ck_assert_int_eq(pricing_max_cost(&p, &m, &r, &msat), RERR_OK);
	ck_assert_int_eq(msat, 166340);
	/* Unknown prompt: the costliest split of 128000: completion 16384,
	 * prompt 111616: 111616 x 2.5e-6 + 16384 x 1e-5 = 0.27904 + 0.16384
	 * USD = 442880 msat. */
	r.prompt_tokens = -1;
	r.max_tokens = -1;
	ck_assert_int_eq(pricing_max_cost(&p, &m, &r, &msat), RERR_OK);
	ck_assert_int_eq(msat, 442880);
	/* Prompt estimate beyond the context: capped at 128000 x 2.5e-6 =
	 * 320000, with max_tokens 0. */
	r.prompt_tokens = 200000;
	r.max_tokens = 0;
	ck_assert_int_eq(pricing_max_cost(&p, &m, &r, &msat), RERR_OK);
	ck_assert_int_eq(msat, 320000);
	/* Nothing known about the model: Routstr's 1e6 prompt + 32000
	 * completion tokens: 2.5 + 0.32 USD = 2,820,000 msat. */
	m.context_length = m.top_context_length = m.max_completion_tokens = 0;
	r.prompt_tokens = -1;
	r.max_tokens = -1;
	ck_assert_int_eq(pricing_max_cost(&p, &m, &r, &msat), RERR_OK);
	ck_assert_int_eq(msat, 2820000);
	/* A cache-write price above the prompt price is the worst case for
	 * prompt tokens: 1000 x 3.125e-6 + 500 x 1e-5 = 8125. Images and the
	 * request price count once: + 0.001 + 2 x 0.0001 USD = 9325. */
	m = model_a();
	r.prompt_tokens = 1000;
	r.max_tokens = 500;
	ck_assert_int_eq(pricing_parse_usd("0.000003125", &m.fusd[PRICING_CACHE_WRITE]), RERR_OK);
	ck_assert_int_eq(pricing_max_cost(&p, &m, &r, &msat), RERR_OK);
	ck_assert_int_eq(msat, 8125);
	ck_assert_int_eq(pricing_parse_usd("0.001", &m.fusd[PRICING_REQUEST]), RERR_OK);
	ck_assert_int_eq(pricing_parse_usd("0.0001", &m.fusd[PRICING_IMAGE]), RERR_OK);
	r.images = 2;
	ck_assert_int_eq(pricing_max_cost(&p, &m, &r, &msat), RERR_OK);
	ck_assert_int_eq(msat, 9325);
	/* Floors: MIN_REQUEST_MSAT, and a 100 % tolerance gives the floor. */
	m = model_a();
	r.images = 0;
	p.min_request_msat = 1000000;
	ck_assert_int_eq(pricing_max_cost(&p, &m, &r, &msat), RERR_OK);
	ck_assert_int_eq(msat, 1000000);
	p.min_request_msat = 7;
	p.tolerance_ppm = 100000000;
	ck_assert_int_eq(pricing_max_cost(&p, &m, &r, &msat), RERR_OK);
	ck_assert_int_eq(msat, 7);
	/* Errors: no BTC price, huge counts. */
	p = params_plain();
	p.btc_usd_micro = 0;
	ck_assert_int_eq(pricing_max_cost(&p, &m, &r, &msat), RERR_INVALID);
	p = params_plain();
	m.context_length = m.top_context_length = 0;
	m.max_completion_tokens = 0;
	r.prompt_tokens = INT64_MAX;
	ck_assert_int_eq(pricing_max_cost(&p, &m, &r, &msat), RERR_TOO_LARGE);
	r.prompt_tokens = 1;
	r.images = -1;
	ck_assert_int_eq(pricing_max_cost(&p, &m, &r, &msat), RERR_INVALID);
}
END_TEST

START_TEST(sats_pricing)
{
	struct pricing_model m = model_a();
	struct pricing_params p = params_fees();
	struct pricing_sats s;
	char buf[64];

	/* prompt 2.5e-6 USD x 1.05525 = 2.638125e-6 USD = 0.002638125 sat. */
	ck_assert_int_eq(pricing_sats(&p, &m, &s), RERR_OK);
	ck_assert_int_eq(s.psat[PRICING_PROMPT], 2638125000LL);
	ck_assert_str_eq(pricing_fmt_psat(s.psat[PRICING_PROMPT], buf, sizeof(buf)),
	    "0.002638125");
	ck_assert_str_eq(pricing_fmt_psat(s.psat[PRICING_COMPLETION], buf, sizeof(buf)),
	    "0.0105525");
	/* No request price: MIN_REQUEST_MSAT (1 msat = 0.001 sat). */
	ck_assert_str_eq(pricing_fmt_psat(s.psat[PRICING_REQUEST], buf, sizeof(buf)), "0.001");
	/* Context 128000 > max completion 16384:
	 * max_prompt = 128000 x 2.5e-6 = 0.32 USD x 1.05525 = 337680 msat;
	 * max_completion = 16384 x 1e-5 = 0.16384 x 1.05525 = 172892.16 -> 172893;
	 * max_cost = 111616 x 2.5e-6 + 0.16384 = 0.44288 x 1.05525
	 *          = 467349.12 -> 467350. */
	ck_assert_int_eq(s.max_prompt_msat, 337680);
	ck_assert_int_eq(s.max_completion_msat, 172893);
	ck_assert_int_eq(s.max_cost_msat, 467350);
	/* Context only: 128000 x max(p, c) = 1.28 USD x 1.05525 = 1350720. */
	m.max_completion_tokens = 0;
	m.top_context_length = 0;
	ck_assert_int_eq(pricing_sats(&p, &m, &s), RERR_OK);
	ck_assert_int_eq(s.max_cost_msat, 1350720);
	p.btc_usd_micro = 0;
	ck_assert_int_eq(pricing_sats(&p, &m, &s), RERR_INVALID);
}
END_TEST

START_TEST(formatting)
{
	char buf[64], small[4];

	ck_assert_str_eq(pricing_fmt_msat_as_sat(622888, buf, sizeof(buf)), "622.888");
	ck_assert_str_eq(pricing_fmt_msat_as_sat(20320, buf, sizeof(buf)), "20.32");
	ck_assert_str_eq(pricing_fmt_msat_as_sat(5000, buf, sizeof(buf)), "5");
	ck_assert_str_eq(pricing_fmt_msat_as_sat(0, buf, sizeof(buf)), "0");
	ck_assert_str_eq(pricing_fmt_msat_as_sat(-6297, buf, sizeof(buf)), "-6.297");
	ck_assert_str_eq(pricing_fmt_msat_as_sat(INT64_MIN, buf, sizeof(buf)),
	    "-9223372036854775.808");
	ck_assert_str_eq(pricing_fmt_psat(1, buf, sizeof(buf)), "0.000000000001");
	ck_assert_str_eq(pricing_fmt_msat_as_sat(622888, small, sizeof(small)), "622");
}
END_TEST

/* The settings' defaults become the parameters (Routstr's defaults). */
START_TEST(params_conf)
{
	struct pricing_params p;
	struct conf *c;
	char err[256];

	unsetenv("ROUTSTR_CONFIG");
	unsetenv("EXCHANGE_FEE");
	unsetenv("UPSTREAM_PROVIDER_FEE");
	unsetenv("FIXED_PRICING");
	c = conf_load(NULL, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	pricing_params_from_conf(c, 0, 0, &p);
	ck_assert_int_eq(p.exchange_fee_ppm, 1005000);
	ck_assert_int_eq(p.provider_fee_ppm, 1050000);
	ck_assert_int_eq(p.tolerance_ppm, 1000000);
	ck_assert_int_eq(p.min_request_msat, 1);
	ck_assert_int_eq(p.btc_usd_micro, 0);	/* BTC_USD_FALLBACK 0: no price */
	ck_assert(!p.fixed);
	ck_assert_int_eq(p.fixed_request_msat, 1000);	/* 1 sat */
	/* A provider's own fee and a fetched BTC price win. */
	pricing_params_from_conf(c, 1010000, BTC_100K, &p);
	ck_assert_int_eq(p.provider_fee_ppm, 1010000);
	ck_assert_int_eq(p.btc_usd_micro, BTC_100K);
	ck_assert_int_eq(conf_set(c, CONF_FIXED_PER_1K_INPUT_TOKENS, "3", err, sizeof(err)), 0);
	ck_assert_int_eq(conf_set(c, CONF_BTC_USD_FALLBACK, "50000.5", err, sizeof(err)), 0);
	pricing_params_from_conf(c, 0, 0, &p);
	ck_assert_int_eq(p.fixed_in_msat_per_1k, 3000);
	ck_assert_int_eq(p.btc_usd_micro, 50000500000LL);
	conf_free(c);
}
END_TEST

Suite *
suite(void)
{
	Suite *s = suite_create("pricing");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, parse_usd);
	tcase_add_test(tc, parse_btc);
	tcase_add_test(tc, cost_plain);
	tcase_add_test(tc, cost_fees);
	tcase_add_test(tc, cost_rounding);
	tcase_add_test(tc, cost_buckets);
	tcase_add_test(tc, cost_errors);
	tcase_add_test(tc, cost_random);
	tcase_add_test(tc, fixed_mode);
	tcase_add_test(tc, max_cost_model);
	tcase_add_test(tc, sats_pricing);
	tcase_add_test(tc, formatting);
	tcase_add_test(tc, params_conf);
	suite_add_tcase(s, tc);
	return s;
}
