/* bill: the money of one relayed request (relay.h: struct relay_bill) and
 * the cost fields Routstr's clients read in an answer (usage.cost,
 * metadata.routstr.cost, cost). The ledger is the only state it changes. */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "json.h"
#include "ledger.h"
#include "log.h"
#include "relay.h"
#include "usage.h"

enum rerr
relay_bill_price(struct relay_bill *b)
{
	struct pricing_request pr;

	memset(&pr, 0, sizeof(pr));
	/* Input the body does not show (a previous response) may fill the
	 * context: unknown, which pricing_max_cost prices as the context. */
	pr.prompt_tokens = b->ask->prompt_unknown ? -1 :
	    pricing_tokens_from_chars(b->ask->prompt_chars);
	pr.max_tokens = b->ask->max_tokens;
	pr.images = b->ask->images_in + b->ask->images_out;
	pr.outputs = b->ask->outputs;
	return pricing_max_cost(&b->pp, b->price, &pr, &b->reserved) == RERR_OK ? RERR_OK :
	    RERR_INVALID;
}

/* OpenRouter reports what the request cost it (usage.cost, USD): a charge
 * below that, with our fees, would sell below cost (a dearer route, web
 * search, a premium tier), so it is the floor. */
static void
upstream_usd_floor(const struct relay_bill *b, const struct relay_meter *m, struct pricing_cost *pc)
{
	struct json_object *c = json_get(m->usage, "cost");
	int64_t fusd, msat;

	if (b->pp.fixed || c == NULL || !(json_object_is_type(c, json_type_double) ||
	    json_object_is_type(c, json_type_int)))
		return;
	if (pricing_parse_usd(json_object_get_string(c), &fusd) != RERR_OK ||
	    pricing_cost_from_usd(&b->pp, fusd, &msat) != RERR_OK || msat <= pc->total_msat)
		return;
	pc->input_msat += msat - pc->total_msat;
	pc->total_msat = msat;
}

int64_t
relay_bill_cost(const struct relay_bill *b, const struct relay_meter *m, struct pricing_cost *pc,
    bool *estimatedp)
{
	struct pricing_usage u;
	bool estimated = false;

	memset(pc, 0, sizeof(*pc));
	if (b->ep->free)
		return 0;
	if (!usage_from_json(m->usage, &u)) {
		u.input = pricing_tokens_from_chars(b->ask->prompt_chars);
		u.output = pricing_tokens_from_chars(m->out_chars);
		u.images = b->ask->images_in;
		estimated = true;
	} else if (!m->usage_final) {
		/* A stream cut before its final usage (Anthropic's
		 * message_start says 1 output token whatever follows): what was
		 * relayed bounds the output from below. */
		int64_t est = pricing_tokens_from_chars(m->out_chars);

		if (est > u.output)
			u.output = est;
		estimated = true;
	}
	/* Images made are counted from the answer, not estimated: a price
	 * per image bills what came back (the count asked for when the
	 * answer was cut). */
	if (b->ep->images) {
		u.images += m->images > 0 ? m->images : b->ask->images_out;
		if (m->images > 0 && m->usage == NULL)
			estimated = false;
	}
	if (pricing_cost(&b->pp, b->price, &u, pc) == RERR_OK) {
		if (!estimated)
			upstream_usd_floor(b, m, pc);
	} else {
		/* Cannot price it (overflow, a count the model cannot bill): charge
		 * what was reserved, the bound the client agreed to. */
		pc->total_msat = b->reserved;
		pc->input_msat = b->reserved;
		pc->output_msat = 0;
		estimated = true;
	}
	if (estimated && pc->total_msat > b->reserved) {
		pc->total_msat = b->reserved;
		if (pc->input_msat > pc->total_msat)
			pc->input_msat = pc->total_msat;
		pc->output_msat = pc->total_msat - pc->input_msat;
	}
	if (estimatedp)
		*estimatedp = estimated;
	return pc->total_msat;
}

enum rerr
relay_bill_release(struct relay_bill *b, struct db *db)
{
	enum rerr e;

	if (b->res_id == 0 || b->settled)
		return RERR_CONFLICT;
	b->settled = true;
	e = ledger_release(db, b->res_id);
	if (e == RERR_DB) {
		usleep(100 * 1000);	/* busy database: once more, as for settle */
		e = ledger_release(db, b->res_id);
	}
	return e;
}

enum rerr
relay_bill_settle(struct relay_bill *b, struct db *db, const struct relay_meter *m,
    struct ledger_request_log *log)
{
	struct ledger_settle_result sr;
	struct pricing_usage u;
	enum rerr e;

	if (b->res_id == 0 || b->settled)
		return RERR_CONFLICT;
	b->settled = true;
	relay_bill_cost(b, m, &b->cost, &b->estimated);
	usage_from_json(m->usage, &u);
	log->status = m->status;
	log->tokens_in = u.input + u.cache_read + u.cache_write;
	log->tokens_out = u.output;
	e = ledger_settle(db, b->res_id, b->cost.total_msat, log, &sr);
	if (e == RERR_DB) {
		/* A busy database past its timeout: once more, or the
		 * reservation stays held until this process exits and the
		 * sweeper charges its recorded progress. */
		usleep(100 * 1000);
		e = ledger_settle(db, b->res_id, b->cost.total_msat, log, &sr);
	}
	if (e != RERR_OK)
		return e;
	b->charged = true;
	b->balance_after = sr.balance_after;
	b->forgiven = sr.forgiven;
	if (sr.charged < b->cost.total_msat) {
		/* The key could not cover an overrun and the rest was forgiven:
		 * the headers and usage.cost say what was taken. The USD figure
		 * was of the whole cost, so it is left out. */
		b->cost.total_msat = sr.charged;
		if (b->cost.output_msat > sr.charged)
			b->cost.output_msat = sr.charged;
		b->cost.input_msat = sr.charged - b->cost.output_msat;
		b->cost.usd_fusd = 0;
	}
	return RERR_OK;
}

struct json_object *
relay_cost_object(const struct relay_cost *c, bool full)
{
	struct json_object *o = json_object_new_object();
	char usd[64];

	json_object_object_add(o, "base_msats", json_object_new_int64(0));
	json_object_object_add(o, "input_msats", json_object_new_int64(c->cost.input_msat));
	json_object_object_add(o, "output_msats", json_object_new_int64(c->cost.output_msat));
	json_object_object_add(o, "total_msats", json_object_new_int64(c->cost.total_msat));
	json_object_object_add(o, "cache_read_input_tokens", json_object_new_int64(0));
	json_object_object_add(o, "cache_creation_input_tokens", json_object_new_int64(0));
	json_object_object_add(o, "cache_read_msats", json_object_new_int64(0));
	json_object_object_add(o, "cache_creation_msats", json_object_new_int64(0));
	if (c->cost.usd_fusd > 0) {
		pricing_fmt_fusd(c->cost.usd_fusd, usd, sizeof(usd));
		json_object_object_add(o, "total_usd", json_object_new_double_s(0, usd));
	}
	if (full) {
		json_object_object_add(o, "sats_cost",
		    json_object_new_int64(pricing_msat_to_sat_floor(c->cost.total_msat)));
		json_object_object_add(o, "remaining_balance_msats",
		    json_object_new_int64(c->balance_after));
	}
	return o;
}

void
relay_add_cost_fields(struct json_object *obj, const struct relay_cost *c)
{
	struct json_object *usage = json_get(obj, "usage"), *meta, *rt;

	if (usage && json_object_is_type(usage, json_type_object)) {
		json_object_object_add(usage, "cost", relay_cost_object(c, false));
		json_object_object_add(usage, "cost_sats",
		    json_object_new_int64(pricing_msat_to_sat_floor(c->cost.total_msat)));
		json_object_object_add(usage, "remaining_balance_msats",
		    json_object_new_int64(c->balance_after));
	}
	if (c->provider && *c->provider)
		json_object_object_add(obj, "provider", json_object_new_string(c->provider));
	meta = json_get(obj, "metadata");
	if (meta == NULL || !json_object_is_type(meta, json_type_object)) {
		meta = json_object_new_object();
		json_object_object_add(obj, "metadata", meta);
	}
	rt = json_object_new_object();
	json_object_object_add(rt, "cost", relay_cost_object(c, true));
	json_object_object_add(meta, "routstr", rt);
	json_object_object_add(obj, "cost", relay_cost_object(c, true));
}
