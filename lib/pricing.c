/* pricing: see pricing.h and docs/money.md. No floating point anywhere in
 * this file: amounts are integers, products are exact in 128 or 256 bits,
 * and each result is rounded once, at the end. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "pricing.h"

typedef unsigned __int128 u128;

const char *const pricing_field_key[PRICING__MAX] = {
	[PRICING_PROMPT] = "prompt",
	[PRICING_COMPLETION] = "completion",
	[PRICING_REQUEST] = "request",
	[PRICING_IMAGE] = "image",
	[PRICING_WEB_SEARCH] = "web_search",
	[PRICING_REASONING] = "internal_reasoning",
	[PRICING_CACHE_READ] = "input_cache_read",
	[PRICING_CACHE_WRITE] = "input_cache_write",
};

/* Tolerance is a percentage scaled by 1e6, so 100 % = 1e8. */
#define TOL_ONE 100000000LL
/* Routstr's token bounds when a model states no context size. */
#define FALLBACK_PROMPT_TOKENS 1000000LL
#define FALLBACK_COMPLETION_TOKENS 32000LL
#define DECIMAL_MAX_LEN 64

/* ------------------------------------------------------------------------ */
/* Exact arithmetic                                                          */

struct u256 {
	uint64_t w[4];	/* little-endian 64-bit limbs */
};

/* r = a * b, exactly. */
static void
mul_128x128(u128 a, u128 b, struct u256 *r)
{
	uint64_t a0 = (uint64_t)a, a1 = (uint64_t)(a >> 64);
	uint64_t b0 = (uint64_t)b, b1 = (uint64_t)(b >> 64);
	u128 p00 = (u128)a0 * b0, p01 = (u128)a0 * b1;
	u128 p10 = (u128)a1 * b0, p11 = (u128)a1 * b1;
	u128 mid, mid2;

	r->w[0] = (uint64_t)p00;
	mid = (p00 >> 64) + (uint64_t)p01 + (uint64_t)p10;
	r->w[1] = (uint64_t)mid;
	mid2 = (mid >> 64) + (p01 >> 64) + (p10 >> 64) + (uint64_t)p11;
	r->w[2] = (uint64_t)mid2;
	r->w[3] = (uint64_t)((mid2 >> 64) + (p11 >> 64));
}

/* *out = a * b / d, rounded up when up, else down. The product is exact
 * (256 bits), so this is the single rounding step of every conversion.
 * Returns 0, or -1 when d is 0 or too wide, or the result is past INT64_MAX. */
static int
muldiv(u128 a, u128 b, u128 d, bool up, int64_t *out)
{
	struct u256 n, q;
	u128 rem = 0;
	int i;

	if (d == 0 || (d >> 126) != 0)
		return -1;
	mul_128x128(a, b, &n);
	memset(&q, 0, sizeof(q));
	/* Binary long division; rem < d < 2^126, so rem << 1 never overflows. */
	for (i = 255; i >= 0; i--) {
		rem = (rem << 1) | ((n.w[i / 64] >> (i % 64)) & 1);
		if (rem >= d) {
			rem -= d;
			q.w[i / 64] |= (uint64_t)1 << (i % 64);
		}
	}
	if (q.w[1] != 0 || q.w[2] != 0 || q.w[3] != 0 || q.w[0] > (uint64_t)INT64_MAX)
		return -1;
	if (up && rem != 0) {
		if (q.w[0] == (uint64_t)INT64_MAX)
			return -1;
		q.w[0]++;
	}
	*out = (int64_t)q.w[0];
	return 0;
}

/* *acc += n * price, both non-negative int64. -1 on overflow. */
static int
acc_add(u128 *acc, int64_t n, int64_t price)
{
	u128 t = (u128)(uint64_t)n * (uint64_t)price;	/* < 2^126 */

	return __builtin_add_overflow(*acc, t, acc) ? -1 : 0;
}

static int64_t
max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* The numerator factor and denominator that turn fUSD into msat:
 * msat = fUSD * ex * pf / (btc_micro * 1e10). Derivation: USD = fUSD/1e15 *
 * ex/1e6 * pf/1e6; BTC = USD * 1e6 / btc_micro; msat = BTC * 1e11. */
static int
fusd_to_msat_factors(const struct pricing_params *p, u128 *mul, u128 *div)
{
	if (p->btc_usd_micro <= 0 || p->exchange_fee_ppm <= 0 || p->provider_fee_ppm <= 0)
		return -1;
	*mul = (u128)(uint64_t)p->exchange_fee_ppm * (uint64_t)p->provider_fee_ppm;
	*div = (u128)(uint64_t)p->btc_usd_micro * 10000000000ULL;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Parsing and formatting                                                    */

/* Parse a non-negative decimal (digits, optional fraction, optional
 * exponent) into value * 10^scale as an int64. Digits below 10^-scale are
 * dropped, rounding up when up and any of them is non-zero. 0, -1 on junk,
 * -2 on overflow. */
static int
parse_decimal(const char *s, int scale, bool up, int64_t *out)
{
	const char *mant, *p;
	size_t len, nint = 0, nfrac = 0, i, ndig;
	long exp = 0;
	int64_t v = 0;
	bool rest = false;

	if (s == NULL)
		return -1;
	len = strnlen(s, DECIMAL_MAX_LEN + 1);
	if (len == 0 || len > DECIMAL_MAX_LEN)
		return -1;
	p = mant = s;
	while (*p >= '0' && *p <= '9') {
		nint++;
		p++;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			nfrac++;
			p++;
		}
	}
	if (nint + nfrac == 0)
		return -1;
	if (*p == 'e' || *p == 'E') {
		bool neg = false;
		size_t ne = 0;

		p++;
		if (*p == '+' || *p == '-')
			neg = *p++ == '-';
		while (*p >= '0' && *p <= '9') {
			if (exp < 100000)
				exp = exp * 10 + (*p - '0');
			ne++;
			p++;
		}
		if (ne == 0)
			return -1;
		if (exp > 1000)
			return -1;
		if (neg)
			exp = -exp;
	}
	if (*p != '\0')
		return -1;
	/* Digit k (0-based over integer and fraction digits) weighs
	 * 10^(nint - 1 - k + exp + scale) in the result. */
	ndig = nint + nfrac;
	for (i = 0; i < ndig; i++) {
		char c = i < nint ? mant[i] : mant[i + 1];	/* skip the '.' */
		long pw = (long)nint - 1 - (long)i + exp + scale;
		int d = c - '0';

		if (pw >= 0) {
			if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, d, &v))
				return -2;
			if (i == ndig - 1) {
				for (; pw > 0; pw--)
					if (__builtin_mul_overflow(v, 10, &v))
						return -2;
			}
		} else if (d != 0) {
			rest = true;
		}
	}
	/* All digits were fractional at this scale but the last integer
	 * power was never reached: v stays 0, as it should. */
	if (up && rest && __builtin_add_overflow(v, 1, &v))
		return -2;
	*out = v;
	return 0;
}

enum rerr
pricing_parse_usd(const char *s, int64_t *fusd)
{
	int r = parse_decimal(s, 15, true, fusd);

	return r == 0 ? RERR_OK : r == -2 ? RERR_TOO_LARGE : RERR_INVALID;
}

enum rerr
pricing_parse_btc_usd(const char *s, int64_t *micro)
{
	int64_t v;
	int r = parse_decimal(s, 6, false, &v);

	if (r == -2)
		return RERR_TOO_LARGE;
	if (r != 0 || v <= 0)
		return RERR_INVALID;
	*micro = v;
	return RERR_OK;
}

/* Format v / 10^places with trailing zeros (and a trailing dot) stripped. */
static char *
fmt_fixed(int64_t v, int places, char *out, size_t n)
{
	uint64_t mag, unit = 1;
	char frac[24];
	int i, len;

	if (n == 0)
		return out;
	for (i = 0; i < places; i++)
		unit *= 10;
	mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	snprintf(frac, sizeof(frac), "%0*llu", places, (unsigned long long)(mag % unit));
	len = places;
	while (len > 0 && frac[len - 1] == '0')
		len--;
	frac[len] = '\0';
	snprintf(out, n, "%s%llu%s%s", v < 0 ? "-" : "", (unsigned long long)(mag / unit),
	    len > 0 ? "." : "", frac);
	return out;
}

char *
pricing_fmt_msat_as_sat(int64_t msat, char *out, size_t n)
{
	return fmt_fixed(msat, 3, out, n);
}

char *
pricing_fmt_psat(int64_t psat, char *out, size_t n)
{
	return fmt_fixed(psat, 12, out, n);
}

char *
pricing_fmt_fusd(int64_t fusd, char *out, size_t n)
{
	return fmt_fixed(fusd, 15, out, n);
}

int64_t
pricing_msat_to_sat_floor(int64_t msat)
{
	return msat <= 0 ? 0 : msat / PRICING_MSAT_PER_SAT;
}

int64_t
pricing_msat_to_sat_ceil(int64_t msat)
{
	return msat <= 0 ? 0 : msat / PRICING_MSAT_PER_SAT + (msat % PRICING_MSAT_PER_SAT != 0);
}

/* ------------------------------------------------------------------------ */
/* Parameters and usage                                                      */

void
pricing_params_from_conf(const struct conf *c, int64_t provider_fee_ppm,
    int64_t btc_usd_micro, struct pricing_params *p)
{
	memset(p, 0, sizeof(*p));
	p->btc_usd_micro = btc_usd_micro > 0 ? btc_usd_micro : conf_int(c, CONF_BTC_USD_FALLBACK);
	p->exchange_fee_ppm = conf_int(c, CONF_EXCHANGE_FEE);
	p->provider_fee_ppm = provider_fee_ppm > 0 ? provider_fee_ppm :
	    conf_int(c, CONF_UPSTREAM_PROVIDER_FEE);
	p->tolerance_ppm = conf_int(c, CONF_TOLERANCE_PERCENTAGE);
	p->min_request_msat = conf_int(c, CONF_MIN_REQUEST_MSAT);
	p->fixed = conf_bool(c, CONF_FIXED_PRICING);
	/* conf bounds these at 1e8 sats, so x1000 cannot overflow. */
	p->fixed_request_msat = conf_int(c, CONF_FIXED_COST_PER_REQUEST) * PRICING_MSAT_PER_SAT;
	p->fixed_in_msat_per_1k = conf_int(c, CONF_FIXED_PER_1K_INPUT_TOKENS) * PRICING_MSAT_PER_SAT;
	p->fixed_out_msat_per_1k = conf_int(c, CONF_FIXED_PER_1K_OUTPUT_TOKENS) *
	    PRICING_MSAT_PER_SAT;
}

int64_t
pricing_usage_split_prompt(int64_t prompt_tokens, int64_t cache_read, int64_t cache_write)
{
	int64_t r = prompt_tokens;

	if (r <= 0)
		return 0;
	if (cache_read > 0)
		r = cache_read >= r ? 0 : r - cache_read;
	if (cache_write > 0)
		r = cache_write >= r ? 0 : r - cache_write;
	return r;
}

int64_t
pricing_tokens_from_chars(int64_t nchars)
{
	if (nchars <= 0)
		return 0;
	return nchars / 3 + (nchars % 3 != 0);
}

static bool
usage_valid(const struct pricing_usage *u)
{
	return u->input >= 0 && u->output >= 0 && u->reasoning >= 0 && u->cache_read >= 0 &&
	    u->cache_write >= 0 && u->requests >= 0 && u->images >= 0 && u->web_searches >= 0;
}

/* Prices filled by hand (not by pricing_parse_usd) could be negative. */
static bool
model_valid(const struct pricing_model *m)
{
	int i;

	for (i = 0; i < PRICING__MAX; i++)
		if (m->fusd[i] < 0)
			return false;
	return true;
}

static bool
usage_empty(const struct pricing_usage *u)
{
	return (u->input | u->output | u->cache_read | u->cache_write | u->requests |
	    u->images | u->web_searches) == 0;
}

/* ------------------------------------------------------------------------ */
/* Settlement cost                                                           */

/* Fixed mode: flat fee plus per-1k rates, rounded up once. Cache reads and
 * writes count as input (Routstr's rule). */
static enum rerr
cost_fixed(const struct pricing_params *p, const struct pricing_usage *u, struct pricing_cost *out)
{
	u128 in_acc = 0, out_acc = 0, sum;
	int64_t tok_msat, out_msat;

	if (acc_add(&in_acc, u->input, p->fixed_in_msat_per_1k) < 0 ||
	    acc_add(&in_acc, u->cache_read, p->fixed_in_msat_per_1k) < 0 ||
	    acc_add(&in_acc, u->cache_write, p->fixed_in_msat_per_1k) < 0 ||
	    acc_add(&out_acc, u->output, p->fixed_out_msat_per_1k) < 0 ||
	    __builtin_add_overflow(in_acc, out_acc, &sum))
		return RERR_TOO_LARGE;
	if (muldiv(sum, 1, 1000, true, &tok_msat) < 0 ||
	    muldiv(out_acc, 1, 1000, false, &out_msat) < 0 ||
	    __builtin_add_overflow(tok_msat, p->fixed_request_msat, &out->total_msat))
		return RERR_TOO_LARGE;
	out->total_msat = max64(out->total_msat, p->min_request_msat);
	out->output_msat = out_msat;
	out->input_msat = out->total_msat - out_msat;
	out->usd_fusd = 0;
	return RERR_OK;
}

enum rerr
pricing_cost(const struct pricing_params *p, const struct pricing_model *m,
    const struct pricing_usage *u, struct pricing_cost *out)
{
	u128 in_acc = 0, out_acc = 0, sum, mul, div;
	int64_t reasoning, plain_out, pr, cr, cw, usd;
	const int64_t *f;

	memset(out, 0, sizeof(*out));
	if (!usage_valid(u))
		return RERR_INVALID;
	if (usage_empty(u))
		return RERR_OK;
	if (p->fixed)
		return cost_fixed(p, u, out);
	if (m == NULL || !model_valid(m) || fusd_to_msat_factors(p, &mul, &div) < 0)
		return RERR_INVALID;
	f = m->fusd;
	pr = f[PRICING_PROMPT];
	/* A cache price of 0 means "not stated": bill at the prompt price. */
	cr = f[PRICING_CACHE_READ] > 0 ? f[PRICING_CACHE_READ] : pr;
	cw = f[PRICING_CACHE_WRITE] > 0 ? f[PRICING_CACHE_WRITE] : pr;
	/* Reasoning tokens are part of output; they have their own price only
	 * when the model states one. */
	reasoning = f[PRICING_REASONING] > 0 ? min64(u->reasoning, u->output) : 0;
	plain_out = u->output - reasoning;
	if (acc_add(&in_acc, u->input, pr) < 0 ||
	    acc_add(&in_acc, u->cache_read, cr) < 0 ||
	    acc_add(&in_acc, u->cache_write, cw) < 0 ||
	    acc_add(&in_acc, u->requests, f[PRICING_REQUEST]) < 0 ||
	    acc_add(&in_acc, u->images, f[PRICING_IMAGE]) < 0 ||
	    acc_add(&in_acc, u->web_searches, f[PRICING_WEB_SEARCH]) < 0 ||
	    acc_add(&out_acc, plain_out, f[PRICING_COMPLETION]) < 0 ||
	    acc_add(&out_acc, reasoning, f[PRICING_REASONING]) < 0 ||
	    __builtin_add_overflow(in_acc, out_acc, &sum))
		return RERR_TOO_LARGE;
	if (muldiv(sum, mul, div, true, &out->total_msat) < 0 ||
	    muldiv(out_acc, mul, div, false, &out->output_msat) < 0) {
		memset(out, 0, sizeof(*out));
		return RERR_TOO_LARGE;
	}
	/* The USD figure is informational; past 9223 USD it is not shown. */
	if (muldiv(sum, mul, (u128)PRICING_PPM * PRICING_PPM, true, &usd) < 0)
		usd = -1;
	out->total_msat = max64(out->total_msat, p->min_request_msat);
	out->input_msat = out->total_msat - out->output_msat;
	out->usd_fusd = usd;
	return RERR_OK;
}

enum rerr
pricing_cost_from_usd(const struct pricing_params *p, int64_t usd_fusd, int64_t *msat)
{
	u128 mul, div;

	*msat = 0;
	if (usd_fusd < 0 || fusd_to_msat_factors(p, &mul, &div) < 0)
		return RERR_INVALID;
	if (muldiv((u128)usd_fusd, mul, div, true, msat) < 0)
		return RERR_TOO_LARGE;
	return RERR_OK;
}

/* ------------------------------------------------------------------------ */
/* Worst case                                                                */

/* The worst-case prompt and completion token counts of request r on model m
 * (m may be NULL), given the worst per-token prices pp (input) and cp
 * (output). See docs/money.md. */
static void
worst_tokens(const struct pricing_model *m, const struct pricing_request *r,
    int64_t pp, int64_t cp, int64_t *ptok, int64_t *ctok)
{
	int64_t ctx = 0, mct = 0, ccap = -1;

	if (m != NULL) {
		ctx = m->top_context_length > 0 ? m->top_context_length : m->context_length;
		mct = m->max_completion_tokens > 0 ? m->max_completion_tokens : 0;
		ctx = max64(ctx, 0);
	}
	if (r->max_tokens >= 0)
		ccap = r->max_tokens;
	if (mct > 0)
		ccap = ccap < 0 ? mct : min64(ccap, mct);
	if (ctx > 0 && ccap >= 0)
		ccap = min64(ccap, ctx);

	if (r->prompt_tokens >= 0) {
		*ptok = ctx > 0 ? min64(r->prompt_tokens, ctx) : r->prompt_tokens;
		*ctok = ccap >= 0 ? ccap : ctx > 0 ? ctx : FALLBACK_COMPLETION_TOKENS;
	} else if (ctx > 0) {
		/* Unknown prompt: the most expensive split of the context window
		 * between prompt and completion. */
		int64_t cmax = ccap >= 0 ? ccap : ctx;

		if (cp >= pp) {
			*ctok = cmax;
			*ptok = ctx - cmax;
		} else {
			*ptok = ctx;
			*ctok = 0;
		}
	} else {
		*ptok = FALLBACK_PROMPT_TOKENS;
		*ctok = ccap >= 0 ? ccap : FALLBACK_COMPLETION_TOKENS;
	}
}

enum rerr
pricing_max_cost(const struct pricing_params *p, const struct pricing_model *m,
    const struct pricing_request *r, int64_t *msat)
{
	u128 acc = 0, mul, div;
	int64_t ptok, ctok, pp, cp, tol, v;

	*msat = 0;
	if (r->images < 0)
		return RERR_INVALID;
	tol = p->tolerance_ppm < 0 ? 0 : min64(p->tolerance_ppm, TOL_ONE);
	if (p->fixed) {
		pp = p->fixed_in_msat_per_1k;
		cp = p->fixed_out_msat_per_1k;
		worst_tokens(m, r, pp, cp, &ptok, &ctok);
		if (r->outputs > 1 && __builtin_mul_overflow(ctok, r->outputs, &ctok))
			return RERR_TOO_LARGE;
		if (acc_add(&acc, ptok, pp) < 0 || acc_add(&acc, ctok, cp) < 0 ||
		    muldiv(acc, (u128)(TOL_ONE - tol), (u128)TOL_ONE * 1000, true, &v) < 0 ||
		    __builtin_add_overflow(v, p->fixed_request_msat, &v))
			return RERR_TOO_LARGE;
		*msat = max64(v, p->min_request_msat);
		return RERR_OK;
	}
	if (m == NULL || !model_valid(m) || fusd_to_msat_factors(p, &mul, &div) < 0)
		return RERR_INVALID;
	/* Worst input price: a prompt token may be a cache write. Worst output
	 * price: an output token may be a reasoning token. */
	pp = max64(m->fusd[PRICING_PROMPT], max64(m->fusd[PRICING_CACHE_WRITE],
	    m->fusd[PRICING_CACHE_READ]));
	cp = max64(m->fusd[PRICING_COMPLETION], m->fusd[PRICING_REASONING]);
	worst_tokens(m, r, pp, cp, &ptok, &ctok);
	/* n answers (best_of made) each up to the bound. */
	if (r->outputs > 1 && __builtin_mul_overflow(ctok, r->outputs, &ctok))
		return RERR_TOO_LARGE;
	if (acc_add(&acc, ptok, pp) < 0 || acc_add(&acc, ctok, cp) < 0 ||
	    acc_add(&acc, 1, m->fusd[PRICING_REQUEST]) < 0 ||
	    acc_add(&acc, r->images, m->fusd[PRICING_IMAGE]) < 0)
		return RERR_TOO_LARGE;
	/* fees and the tolerance discount in one exact product; (mul < 2^47)
	 * x (1e8 < 2^27) fits easily in 128 bits. */
	if (muldiv(acc, mul * (u128)(TOL_ONE - tol), div * (u128)TOL_ONE, true, &v) < 0)
		return RERR_TOO_LARGE;
	*msat = max64(v, p->min_request_msat);
	return RERR_OK;
}

/* ------------------------------------------------------------------------ */
/* Sats pricing for /v1/models                                               */

enum rerr
pricing_sats(const struct pricing_params *p, const struct pricing_model *m,
    struct pricing_sats *out)
{
	u128 mul, div, mp = 0, mc = 0, mx = 0;
	const int64_t *f = m->fusd;
	int64_t tcl = m->top_context_length, mct = m->max_completion_tokens;
	int64_t pr = f[PRICING_PROMPT], co = f[PRICING_COMPLETION], hi = max64(pr, co);
	int i;
	int bad = 0;

	memset(out, 0, sizeof(*out));
	if (!model_valid(m) || fusd_to_msat_factors(p, &mul, &div) < 0)
		return RERR_INVALID;
	for (i = 0; i < PRICING__MAX; i++) {
		/* psat = msat * 1e9, so divide by 1e10 / 1e9 = 10 instead. */
		if (muldiv((u128)f[i], mul, (u128)p->btc_usd_micro * 10, true,
		    &out->psat[i]) < 0)
			return RERR_TOO_LARGE;
	}
	if (out->psat[PRICING_REQUEST] <= 0 &&
	    __builtin_mul_overflow(p->min_request_msat, (int64_t)1000000000,
	    &out->psat[PRICING_REQUEST]))
		return RERR_TOO_LARGE;
	/* Routstr's max-cost formulas (section 4.4 of its money spec). */
	if (tcl > 0 && mct > 0) {
		bad |= acc_add(&mp, tcl, pr);
		if (tcl <= mct) {
			bad |= acc_add(&mc, tcl, co);
			bad |= acc_add(&mx, tcl, hi);
		} else {
			bad |= acc_add(&mc, mct, co);
			bad |= acc_add(&mx, tcl - mct, pr);
			bad |= acc_add(&mx, mct, co);
		}
	} else if (tcl > 0 || (mct <= 0 && m->context_length > 0)) {
		int64_t cl = tcl > 0 ? tcl : m->context_length;

		bad |= acc_add(&mp, cl, pr);
		bad |= acc_add(&mc, cl, co);
		bad |= acc_add(&mx, cl, hi);
	} else if (mct > 0) {
		bad |= acc_add(&mp, mct, pr);
		bad |= acc_add(&mc, mct, co);
		bad |= acc_add(&mx, mct, co);
	} else {
		bad |= acc_add(&mp, FALLBACK_PROMPT_TOKENS, pr);
		bad |= acc_add(&mc, FALLBACK_COMPLETION_TOKENS, co);
		bad |= acc_add(&mx, FALLBACK_PROMPT_TOKENS, pr);
		bad |= acc_add(&mx, FALLBACK_COMPLETION_TOKENS, co);
		bad |= acc_add(&mx, 100000, f[PRICING_REQUEST]);
		bad |= acc_add(&mx, 100, f[PRICING_IMAGE]);
		bad |= acc_add(&mx, 1000, f[PRICING_WEB_SEARCH]);
		bad |= acc_add(&mx, 100, f[PRICING_REASONING]);
	}
	if (bad || muldiv(mp, mul, div, true, &out->max_prompt_msat) < 0 ||
	    muldiv(mc, mul, div, true, &out->max_completion_msat) < 0 ||
	    muldiv(mx, mul, div, true, &out->max_cost_msat) < 0) {
		memset(out, 0, sizeof(*out));
		return RERR_TOO_LARGE;
	}
	out->max_cost_msat = max64(out->max_cost_msat, p->min_request_msat);
	return RERR_OK;
}
