/* info: the public node description (GET /v1/info, GET /), and /health. */
#include "config.h"

#include <json-c/json.h>

#include "conf.h"
#include "handlers.h"

static struct json_object *
str_list(enum conf_key k)
{
	struct json_object *a = json_object_new_array();
	size_t n, i;
	const char *const *items = conf_list(conf_get(), k, &n);

	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(items[i]));
	return a;
}

/* GET /v1/info: Routstr's eight keys, in its order. http_url and onion_url
 * are the operator's HTTP_URL and ONION_URL as configured: the node's public
 * addresses, which include its mount (https://host/~alice/routstr) and which
 * the node cannot know itself (it never trusts Host). No URL here is one the
 * node makes; one that it did make would come from req_url (fcgi/http.h). */
void
h_info(struct req *r)
{
	const struct conf *c = conf_get();
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(conf_str(c, CONF_NAME)));
	json_object_object_add(o, "description",
	    json_object_new_string(conf_str(c, CONF_DESCRIPTION)));
	json_object_object_add(o, "version", json_object_new_string(ROUTSTR_VERSION));
	json_object_object_add(o, "npub", json_object_new_string(conf_str(c, CONF_NPUB)));
	json_object_object_add(o, "mints", str_list(CONF_CASHU_MINTS));
	json_object_object_add(o, "http_url", json_object_new_string(conf_str(c, CONF_HTTP_URL)));
	json_object_object_add(o, "onion_url", json_object_new_string(conf_str(c, CONF_ONION_URL)));
	json_object_object_add(o, "child_key_cost_msats",
	    json_object_new_int64(conf_int(c, CONF_CHILD_KEY_COST)));
	resp_json(r, 200, o);
}

/* GET /: what Routstr answers when no UI is built. */
void
h_root(struct req *r)
{
	const struct conf *c = conf_get();
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(conf_str(c, CONF_NAME)));
	json_object_object_add(o, "description",
	    json_object_new_string(conf_str(c, CONF_DESCRIPTION)));
	json_object_object_add(o, "version", json_object_new_string(ROUTSTR_VERSION));
	json_object_object_add(o, "status", json_object_new_string("running"));
	json_object_object_add(o, "ui", json_object_new_string("not available"));
	resp_json(r, 200, o);
}

/* GET /health: the process answers; the database is reachable by its thread. */
void
h_health(struct req *r)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "status", json_object_new_string("ok"));
	json_object_object_add(o, "version", json_object_new_string(ROUTSTR_VERSION));
	resp_json(r, 200, o);
}
