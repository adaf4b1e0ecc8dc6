/* pricing: what a request costs, in integer millisatoshi. Pure functions of
 * their arguments (no global config, no I/O), so every number is testable.
 *
 * Units
 * - Model prices are USD per unit (token, request, image) in OpenRouter's
 *   decimal strings ("0.0000025"). They are held as fUSD: femto-USD, 1e-15
 *   USD, per unit, in an int64 (so up to ~9223 USD per unit). Parsing is exact
 *   to 15 decimals; a price with more digits is rounded up to the next fUSD.
 * - The BTC price is micro-USD per BTC (97123.45 USD -> 97123450000).
 * - Multipliers (fees) are parts per million (1.005 -> 1005000); the
 *   tolerance is percent x 1e6 (1.0 % -> 1000000), as lib/conf stores them.
 * - Results are msat (int64). Sats prices for /v1/models are psat (1e-12 sat)
 *   per unit.
 *
 * The one rounding rule: every conversion is computed exactly in 128/256-bit
 * integers and rounded ONCE at the end - up to the next msat for what a user
 * is charged or must have reserved (liabilities), down for what we pay out.
 * Anything that does not fit an int64 is RERR_TOO_LARGE, never a wrap. */
#ifndef ROUTSTR_PRICING_H
#define ROUTSTR_PRICING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define PRICING_FUSD_PER_USD 1000000000000000LL	/* 1e15 */
#define PRICING_PPM 1000000LL
#define PRICING_MSAT_PER_SAT 1000LL

/* The price fields of OpenRouter's "pricing" object, each USD per unit. */
enum pricing_field {
	PRICING_PROMPT,		/* per uncached input token */
	PRICING_COMPLETION,	/* per output token */
	PRICING_REQUEST,	/* per request */
	PRICING_IMAGE,		/* per input image */
	PRICING_WEB_SEARCH,	/* per web search */
	PRICING_REASONING,	/* "internal_reasoning": per reasoning token */
	PRICING_CACHE_READ,	/* "input_cache_read": per cached input token read */
	PRICING_CACHE_WRITE,	/* "input_cache_write": per input token written to cache */
	PRICING__MAX
};

/* OpenRouter's key for each field ("prompt", "internal_reasoning", ...). */
extern const char *const pricing_field_key[PRICING__MAX];

/* One model's prices (before any fee) and size limits; 0 = unknown/free. */
struct pricing_model {
	int64_t fusd[PRICING__MAX];	/* fUSD per unit */
	int64_t context_length;		/* model.context_length */
	int64_t top_context_length;	/* top_provider.context_length */
	int64_t max_completion_tokens;	/* top_provider.max_completion_tokens */
};

/* Everything else a price depends on. Build it from the settings with
 * pricing_params_from_conf, or by hand in tests. */
struct pricing_params {
	int64_t btc_usd_micro;		/* micro-USD per BTC; <= 0: unknown */
	int64_t exchange_fee_ppm;	/* EXCHANGE_FEE */
	int64_t provider_fee_ppm;	/* the provider's own fee, else UPSTREAM_PROVIDER_FEE */
	int64_t tolerance_ppm;		/* TOLERANCE_PERCENTAGE x 1e6 (percent) */
	int64_t min_request_msat;	/* MIN_REQUEST_MSAT */
	bool fixed;			/* FIXED_PRICING */
	int64_t fixed_request_msat;	/* FIXED_COST_PER_REQUEST x 1000 */
	int64_t fixed_in_msat_per_1k;	/* FIXED_PER_1K_INPUT_TOKENS x 1000 */
	int64_t fixed_out_msat_per_1k;	/* FIXED_PER_1K_OUTPUT_TOKENS x 1000 */
};

/* What one request used, in disjoint buckets (the usage extractor splits
 * OpenAI's prompt_tokens into input + cache_read + cache_write; see
 * pricing_usage_split_prompt). reasoning is the part of output that was
 * reasoning: it is billed at the reasoning price when the model has one, else
 * at the completion price like the rest of output. */
struct pricing_usage {
	int64_t input;
	int64_t output;
	int64_t reasoning;	/* subset of output; capped at output */
	int64_t cache_read;
	int64_t cache_write;
	int64_t requests;	/* usually 1 */
	int64_t images;
	int64_t web_searches;
};

/* A computed charge. total_msat is what the user pays; the split into input
 * and output is informational (for x-routstr-*-cost-msats headers):
 * output_msat is the output share rounded down, input_msat the rest. */
struct pricing_cost {
	int64_t total_msat;
	int64_t input_msat;
	int64_t output_msat;
	int64_t usd_fusd;	/* fee-adjusted USD, rounded up; 0 in fixed mode; -1 past
				 * INT64 fUSD (9223 USD): informational only */
};

/* What a request may cost at most: the inputs of pricing_max_cost. */
struct pricing_request {
	int64_t prompt_tokens;	/* estimate (see pricing_tokens_from_chars); < 0: unknown */
	int64_t max_tokens;	/* max_tokens / max_completion_tokens; < 0: absent */
	int64_t images;		/* input images */
	int64_t outputs;	/* answers made (chat n, best_of); 0 or 1: one */
};

/* Sats prices of a model for /v1/models (Routstr's "sats_pricing"). Per-unit
 * prices are psat per unit rounded up; max costs are msat rounded up. */
struct pricing_sats {
	int64_t psat[PRICING__MAX];
	int64_t max_prompt_msat;
	int64_t max_completion_msat;
	int64_t max_cost_msat;
};

/* Parse a non-negative decimal USD amount ("0.0000025", "15", "2.5e-06";
 * at most 64 characters) into fUSD, rounding digits beyond the 15th decimal
 * up. RERR_INVALID for junk or a negative number (OpenRouter's "-1" =
 * variable price: treat the model as unpriced), RERR_TOO_LARGE past INT64. */
enum rerr pricing_parse_usd(const char *s, int64_t *fusd);
/* Parse a BTC price in USD ("97123.45") into micro-USD, truncating digits
 * beyond the 6th decimal (a lower BTC price charges more, never less).
 * Zero is RERR_INVALID. */
enum rerr pricing_parse_btc_usd(const char *s, int64_t *micro);

/* Fill p from the settings. provider_fee_ppm: the serving provider's fee, or
 * <= 0 for UPSTREAM_PROVIDER_FEE. btc_usd_micro: the cached exchange price,
 * or <= 0 for BTC_USD_FALLBACK. c is borrowed. */
struct conf;
void pricing_params_from_conf(const struct conf *c, int64_t provider_fee_ppm,
    int64_t btc_usd_micro, struct pricing_params *p);

/* OpenAI-style prompt_tokens (which include cached tokens) into the uncached
 * input bucket: max(0, prompt - cache_read - cache_write). */
int64_t pricing_usage_split_prompt(int64_t prompt_tokens, int64_t cache_read,
    int64_t cache_write);
/* Token estimate of a prompt of nchars characters (code points): ceil(n/3),
 * Routstr's chars/3 rounded up. */
int64_t pricing_tokens_from_chars(int64_t nchars);

/* The charge for usage u of model m (m may be NULL in fixed mode). All
 * buckets zero: 0 msat. Otherwise max(MIN_REQUEST_MSAT, cost rounded up).
 * Errors: RERR_INVALID (negative count, no BTC price, no model in model
 * mode), RERR_TOO_LARGE (overflow). Fixed mode: fixed_request_msat plus the
 * per-1k rates on input (cache reads and writes count as input) and output. */
enum rerr pricing_cost(const struct pricing_params *p, const struct pricing_model *m,
    const struct pricing_usage *u, struct pricing_cost *out);
/* The charge for an upstream-reported USD cost (OpenRouter usage.cost), in
 * fUSD before fees: ceil(usd x fees / btc price). Not used in fixed mode. */
enum rerr pricing_cost_from_usd(const struct pricing_params *p, int64_t usd_fusd,
    int64_t *msat);

/* The amount to reserve before a request: its worst-case cost (see
 * docs/money.md for the token bounds), less the tolerance discount,
 * rounded up, at least MIN_REQUEST_MSAT. m may be NULL in fixed mode. */
enum rerr pricing_max_cost(const struct pricing_params *p, const struct pricing_model *m,
    const struct pricing_request *r, int64_t *msat);

/* Sats prices and max costs of m (fees applied, no tolerance). */
enum rerr pricing_sats(const struct pricing_params *p, const struct pricing_model *m,
    struct pricing_sats *out);

/* Payouts and refunds round down: whole sats in msat. */
int64_t pricing_msat_to_sat_floor(int64_t msat);
/* Liabilities in a sat-denominated wallet round up. */
int64_t pricing_msat_to_sat_ceil(int64_t msat);

/* Format msat as sats with 3 decimals, trailing zeros and dot stripped
 * (622888 -> "622.888", 20320 -> "20.32", 5000 -> "5"), as Routstr's 402
 * messages. Writes at most n bytes, always NUL-terminated; returns out. */
char *pricing_fmt_msat_as_sat(int64_t msat, char *out, size_t n);
/* Format psat as a decimal sats string with up to 12 decimals, trailing
 * zeros stripped ("0.00015"), for json_object_new_double_s. Returns out. */
char *pricing_fmt_psat(int64_t psat, char *out, size_t n);
/* Format fUSD as a decimal USD string with up to 15 decimals. Returns out. */
char *pricing_fmt_fusd(int64_t fusd, char *out, size_t n);

#endif
