/* bill: the cost fields Routstr's clients read in an answer (usage.cost,
 * metadata.routstr.cost, cost). Pure: the caller owns every object. */
#include "config.h"

#include "json.h"
#include "relay.h"

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
