/* test_catalog: loading models.json in its three shapes, the models table
 * overriding, adding and hiding models, lookup by id and alias (case, vendor
 * prefix, dates, alias_ids, conflicts), exact prices, Routstr's USD pricing
 * object, the process-wide catalogue's reload on a version change, and the
 * cost of one lookup. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "db_sql.h"
#include "log.h"
#include "util.h"
#include "testlib.h"

static char dir[TL_PATH_MAX];
static char dbpath[TL_PATH_MAX + 16];

static void
setup(void)
{
	tl_tmpdir(dir, sizeof(dir), "test_catalog");
	snprintf(dbpath, sizeof(dbpath), "%s/t.db", dir);
	catalog_reset();
}

static void
teardown(void)
{
	catalog_reset();
	tl_tmpdir_remove(dir);
}

/* Write text to dir/name; returns the path (static buffer). */
static const char *
write_file(const char *name, const char *text)
{
	static char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	fclose(f);
	return path;
}

/* The file's text into a new string. */
static void
exec(struct db *db, const char *sql)
{
	ck_assert_int_eq(db_exec(db, sql), RERR_OK);
}

static const char catalogue[] =
    "{\"data\":[\n"
    " {\"id\":\"openai/gpt-4o\",\"name\":\"GPT-4o\",\"created\":1715367049,"
    "  \"canonical_slug\":\"openai/gpt-4o-2024-05-13\",\"context_length\":128000,"
    "  \"architecture\":{\"modality\":\"text+image->text\",\"input_modalities\":[\"text\",\"image\"],"
    "   \"output_modalities\":[\"text\"],\"tokenizer\":\"GPT\",\"instruct_type\":null},"
    "  \"pricing\":{\"prompt\":\"0.0000025\",\"completion\":\"0.00001\",\"request\":\"0\","
    "   \"image\":\"0.003613\",\"input_cache_read\":\"0.00000125\"},"
    "  \"top_provider\":{\"context_length\":128000,\"max_completion_tokens\":16384,"
    "   \"is_moderated\":true},\"per_request_limits\":null,\"unknown_key\":[1,2,3]},\n"
    " {\"id\":\"anthropic/claude-3-5-sonnet-2024-10-22\",\"name\":\"Claude\","
    "  \"pricing\":{\"prompt\":\"0.000003\",\"completion\":\"0.000015\"},"
    "  \"alias_ids\":[\"sonnet\",\"Best-Model\"]},\n"
    " {\"id\":\"mock-model\",\"forwarded_model_id\":\"Public-Mock\","
    "  \"pricing\":{\"prompt\":1.5e-7,\"completion\":\"6e-7\"}},\n"
    " {\"id\":\"router/auto\",\"pricing\":{\"prompt\":\"-1\",\"completion\":\"-1\"}},\n"
    " {\"id\":\"no-price\"},\n"
    " {\"id\":\"junk-price\",\"pricing\":{\"prompt\":\"abc\",\"completion\":\"0\"}},\n"
    " {\"id\":\"hidden\",\"enabled\":false,\"pricing\":{\"prompt\":\"0\",\"completion\":\"0\"}},\n"
    " {\"name\":\"no id\"},\n"
    " {\"id\":\"OPENAI/GPT-4O\",\"pricing\":{\"prompt\":\"9\",\"completion\":\"9\"}}\n"
    "]}\n";

START_TEST(loads_file)
{
	struct catalog *c;
	const struct catalog_model *m;

	ck_assert_int_eq(catalog_load(NULL, write_file("m.json", catalogue), &c), RERR_OK);
	/* hidden, the entry without id and the duplicate are dropped */
	ck_assert_uint_eq(catalog_count(c), 6);
	m = catalog_at(c, 0);
	ck_assert_str_eq(m->id, "openai/gpt-4o");
	ck_assert_str_eq(m->upstream_id, "openai/gpt-4o");
	ck_assert_str_eq(m->name, "GPT-4o");
	ck_assert_int_eq(m->created, 1715367049);
	ck_assert(m->priced);
	ck_assert_int_eq(m->price.fusd[PRICING_PROMPT], 2500000000LL);
	ck_assert_int_eq(m->price.fusd[PRICING_COMPLETION], 10000000000LL);
	ck_assert_int_eq(m->price.fusd[PRICING_IMAGE], 3613000000000LL);
	ck_assert_int_eq(m->price.fusd[PRICING_CACHE_READ], 1250000000LL);
	ck_assert_int_eq(m->price.fusd[PRICING_WEB_SEARCH], 0);
	ck_assert_int_eq(m->price.context_length, 128000);
	ck_assert_int_eq(m->price.top_context_length, 128000);
	ck_assert_int_eq(m->price.max_completion_tokens, 16384);
	ck_assert(m->has_top_provider);
	ck_assert_int_eq(m->is_moderated, 1);
	ck_assert_ptr_null(m->per_request_limits_json);
	ck_assert_str_eq(m->architecture_json,
	    "{\"modality\":\"text+image->text\",\"input_modalities\":[\"text\",\"image\"],"
	    "\"output_modalities\":[\"text\"],\"tokenizer\":\"GPT\",\"instruct_type\":null}");
	ck_assert_ptr_null(m->alias_ids);

	m = catalog_at(c, 1);
	ck_assert_str_eq(m->name, "Claude");
	ck_assert_str_eq(m->description, "");
	ck_assert(!m->has_top_provider);
	ck_assert_int_eq(m->top_context_length, -1);
	ck_assert_uint_eq(m->nalias_ids, 2);
	ck_assert_str_eq(m->alias_ids[1], "Best-Model");
	ck_assert_str_eq(m->architecture_json,
	    "{\"modality\":\"text->text\",\"input_modalities\":[\"text\"],"
	    "\"output_modalities\":[\"text\"],\"tokenizer\":\"Other\",\"instruct_type\":null}");

	/* forwarded_model_id is public, id goes upstream; JSON numbers parse exactly */
	m = catalog_at(c, 2);
	ck_assert_str_eq(m->id, "Public-Mock");
	ck_assert_str_eq(m->upstream_id, "mock-model");
	ck_assert(m->priced);
	ck_assert_int_eq(m->price.fusd[PRICING_PROMPT], 150000000LL);
	ck_assert_int_eq(m->price.fusd[PRICING_COMPLETION], 600000000LL);

	/* negative, missing and malformed prices: unpriced, still listed */
	ck_assert(!catalog_at(c, 3)->priced);
	ck_assert_int_eq(catalog_at(c, 3)->price.fusd[PRICING_PROMPT], 0);
	ck_assert(!catalog_at(c, 4)->priced);
	ck_assert(!catalog_at(c, 5)->priced);
	ck_assert_ptr_null(catalog_find(c, "hidden"));
	catalog_release(c);
}
END_TEST

START_TEST(file_shapes)
{
	struct catalog *c;
	static const char *const ok[] = {
		"{\"models\":[{\"id\":\"a\",\"pricing\":{\"prompt\":\"1\",\"completion\":\"1\"}}]}",
		"[{\"id\":\"a\",\"pricing\":{\"prompt\":\"1\",\"completion\":\"1\"}}]",
		"{\"data\":[{\"id\":\"a\"}],\"object\":\"list\"}",
	};
	static const char *const bad[] = { "", "{", "{\"data\":{}}", "42", "{\"x\":[]}",
		"[] []" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		ck_assert_int_eq(catalog_load(NULL, write_file("s.json", ok[i]), &c), RERR_OK);
		ck_assert_uint_eq(catalog_count(c), 1);
		ck_assert_ptr_nonnull(catalog_find(c, "A"));
		catalog_release(c);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_int_eq(catalog_load(NULL, write_file("s.json", bad[i]), &c),
		    RERR_INVALID);
		ck_assert_ptr_null(c);
	}
	ck_assert_int_eq(catalog_load(NULL, "/nonexistent/models.json", &c), RERR_IO);
	/* no file at all: an empty catalogue */
	ck_assert_int_eq(catalog_load(NULL, "", &c), RERR_OK);
	ck_assert_uint_eq(catalog_count(c), 0);
	ck_assert_ptr_null(catalog_find(c, "a"));
	catalog_release(c);
}
END_TEST

START_TEST(lookup)
{
	struct catalog *c;
	const struct catalog_model *gpt, *claude, *mock;
	char longname[400];

	ck_assert_int_eq(catalog_load(NULL, write_file("m.json", catalogue), &c), RERR_OK);
	gpt = catalog_at(c, 0);
	claude = catalog_at(c, 1);
	mock = catalog_at(c, 2);
	/* id, any case */
	ck_assert_ptr_eq(catalog_find(c, "openai/gpt-4o"), gpt);
	ck_assert_ptr_eq(catalog_find(c, "OpenAI/GPT-4o"), gpt);
	/* without the vendor prefix */
	ck_assert_ptr_eq(catalog_find(c, "gpt-4o"), gpt);
	ck_assert_ptr_eq(catalog_find(c, "GPT-4O"), gpt);
	/* canonical slug, unprefixed, and without its dashed date */
	ck_assert_ptr_eq(catalog_find(c, "openai/gpt-4o-2024-05-13"), gpt);
	ck_assert_ptr_eq(catalog_find(c, "gpt-4o-2024-05-13"), gpt);
	/* lookup-time fallback: -YYYYMMDD stripped */
	ck_assert_ptr_eq(catalog_find(c, "gpt-4o-20240513"), gpt);
	ck_assert_ptr_eq(catalog_find(c, "openai/gpt-4o-20991231"), gpt);
	ck_assert_ptr_null(catalog_find(c, "gpt-4o-2024051"));
	ck_assert_ptr_null(catalog_find(c, "gpt-4o-2024051x"));
	/* dated id: undated, prefixed undated, unprefixed dated */
	ck_assert_ptr_eq(catalog_find(c, "claude-3-5-sonnet"), claude);
	ck_assert_ptr_eq(catalog_find(c, "anthropic/claude-3-5-sonnet"), claude);
	ck_assert_ptr_eq(catalog_find(c, "claude-3-5-sonnet-2024-10-22"), claude);
	/* alias_ids, any case */
	ck_assert_ptr_eq(catalog_find(c, "sonnet"), claude);
	ck_assert_ptr_eq(catalog_find(c, "best-model"), claude);
	/* public and upstream id both route */
	ck_assert_ptr_eq(catalog_find(c, "public-mock"), mock);
	ck_assert_ptr_eq(catalog_find(c, "mock-model"), mock);
	/* misses */
	ck_assert_ptr_null(catalog_find(c, "gpt"));
	ck_assert_ptr_null(catalog_find(c, ""));
	ck_assert_ptr_null(catalog_find(c, NULL));
	ck_assert_ptr_null(catalog_find(c, "vendor/gpt-4o"));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_ptr_null(catalog_find(c, longname));
	catalog_release(c);
}
END_TEST

/* A shared alias goes to the higher priority, then the cheaper model. */
START_TEST(alias_conflicts)
{
	struct catalog *c;
	static const char text[] =
	    "[{\"id\":\"x/shared\",\"pricing\":{\"prompt\":\"2\",\"completion\":\"2\"}},"
	    " {\"id\":\"y/shared\",\"pricing\":{\"prompt\":\"1\",\"completion\":\"1\"}},"
	    " {\"id\":\"shared-exp\",\"alias_ids\":[\"x/shared\"],"
	    "  \"pricing\":{\"prompt\":\"0\",\"completion\":\"0\"}},"
	    " {\"id\":\"cheap\",\"alias_ids\":[\"pick\"],\"pricing\":{\"prompt\":\"1\",\"completion\":\"1\"}},"
	    " {\"id\":\"dear\",\"alias_ids\":[\"pick\"],\"pricing\":{\"prompt\":\"3\",\"completion\":\"1\"}},"
	    " {\"id\":\"first\",\"alias_ids\":[\"tie\"],\"pricing\":{\"prompt\":\"1\",\"completion\":\"1\"}},"
	    " {\"id\":\"second\",\"alias_ids\":[\"tie\"],\"pricing\":{\"prompt\":\"1\",\"completion\":\"1\"}}]";

	ck_assert_int_eq(catalog_load(NULL, write_file("c.json", text), &c), RERR_OK);
	/* "shared": both unprefixed (priority 3); y is cheaper */
	ck_assert_str_eq(catalog_find(c, "shared")->id, "y/shared");
	/* an alias_ids entry (1) never takes a model's own id (5) */
	ck_assert_str_eq(catalog_find(c, "x/shared")->id, "x/shared");
	ck_assert_str_eq(catalog_find(c, "pick")->id, "cheap");
	ck_assert_str_eq(catalog_find(c, "tie")->id, "first");
	catalog_release(c);
}
END_TEST

START_TEST(db_overrides)
{
	struct db *db = tl_db_open(dbpath, DB_SYNC_NORMAL);
	struct catalog *c;
	const struct catalog_model *m;
	const char *path = write_file("m.json", catalogue);
	int64_t v0;

	v0 = catalog_db_version(db);
	ck_assert_int_ge(v0, 1);
	/* override (case-insensitive id), add, hide */
	exec(db, "INSERT INTO models (id, upstream_id, data, alias_ids, enabled, updated_at) VALUES "
	    "('OPENAI/gpt-4o', 'gpt-4o-upstream', "
	    " '{\"name\":\"Mine\",\"pricing\":{\"prompt\":\"0.000001\",\"completion\":\"0.000002\"},"
	    "   \"alias_ids\":[\"ignored\"]}', '[\"my-alias\"]', 1, 1),"
	    "('local/llama', NULL, '{\"pricing\":{\"prompt\":\"0\",\"completion\":\"0\"},"
	    "   \"context_length\":8192}', NULL, 1, 1),"
	    "('sonnet-hidden', NULL, '{}', NULL, 0, 1),"
	    "('anthropic/claude-3-5-sonnet-2024-10-22', NULL, '{}', NULL, 0, 1),"
	    "('broken', NULL, '[1]', NULL, 1, 1)");
	/* the trigger counts rows: five inserted */
	ck_assert_int_eq(catalog_db_version(db), v0 + 5);
	ck_assert_int_eq(catalog_load(db, path, &c), RERR_OK);
	ck_assert_int_eq(catalog_version(c), v0 + 5);
	/* 6 file models - claude + llama; the row whose data is no object is skipped */
	ck_assert_uint_eq(catalog_count(c), 6);
	m = catalog_at(c, 0);
	ck_assert(m->from_db);
	ck_assert_str_eq(m->id, "OPENAI/gpt-4o");
	ck_assert_str_eq(m->upstream_id, "gpt-4o-upstream");
	ck_assert_str_eq(m->name, "Mine");
	ck_assert_int_eq(m->price.fusd[PRICING_PROMPT], 1000000000LL);
	ck_assert_ptr_eq(catalog_find(c, "gpt-4o"), m);
	ck_assert_ptr_eq(catalog_find(c, "gpt-4o-upstream"), m);
	ck_assert_ptr_eq(catalog_find(c, "my-alias"), m);
	ck_assert_ptr_null(catalog_find(c, "ignored"));
	/* the file's canonical slug is gone with the file's object */
	ck_assert_ptr_null(catalog_find(c, "gpt-4o-2024-05-13"));
	ck_assert_ptr_null(catalog_find(c, "sonnet"));
	ck_assert_ptr_null(catalog_find(c, "claude-3-5-sonnet"));
	m = catalog_at(c, 5);
	ck_assert_str_eq(m->id, "local/llama");
	ck_assert(m->priced);
	ck_assert_ptr_eq(catalog_find(c, "LLAMA"), m);
	ck_assert_ptr_null(catalog_find(c, "broken"));
	catalog_release(c);
	db_close(db);
}
END_TEST

/* The process-wide catalogue is kept while nothing changes and rebuilt after
 * a table change or a new file. */
START_TEST(current_reloads)
{
	struct db *db = tl_db_open(dbpath, DB_SYNC_NORMAL);
	struct catalog *a, *b, *d;
	const char *path = write_file("m.json", catalogue);
	char *p2 = xstrdup(path);

	a = catalog_current_path(db, p2);
	b = catalog_current_path(db, p2);
	ck_assert_ptr_eq(a, b);
	ck_assert_uint_eq(catalog_count(a), 6);
	exec(db, "INSERT INTO models (id, data, updated_at) VALUES ('new-one', "
	    "'{\"pricing\":{\"prompt\":\"1\",\"completion\":\"1\"}}', 2)");
	d = catalog_current_path(db, p2);
	ck_assert_ptr_ne(d, a);
	ck_assert_uint_eq(catalog_count(d), 7);
	ck_assert_ptr_nonnull(catalog_find(d, "new-one"));
	/* the old one stays valid for its holders */
	ck_assert_ptr_null(catalog_find(a, "new-one"));
	ck_assert_ptr_nonnull(catalog_find(a, "gpt-4o"));
	catalog_release(a);
	catalog_release(b);
	catalog_release(d);
	/* a changed file is noticed by stat (at most once a second) */
	a = catalog_current_path(db, p2);
	write_file("m.json", "[{\"id\":\"only\",\"pricing\":{\"prompt\":\"1\",\"completion\":\"1\"},"
	    "\"description\":\"a longer file so the size differs\"}]");
	usleep(1100000);
	b = catalog_current_path(db, p2);
	ck_assert_ptr_ne(a, b);
	ck_assert_ptr_nonnull(catalog_find(b, "only"));
	catalog_release(a);
	catalog_release(b);
	/* a broken file keeps the previous catalogue */
	write_file("m.json", "{not json, and of another size}");
	usleep(1100000);
	a = catalog_current_path(db, p2);
	ck_assert_ptr_nonnull(catalog_find(a, "only"));
	catalog_release(a);
	free(p2);
	db_close(db);
}
END_TEST

/* Routstr's USD pricing (fee applied) for model A at UPSTREAM_PROVIDER_FEE
 * 1.05: prompt 2.5e-6 x 1.05 = 2.625e-6 USD = 2625000000 fUSD; cl 128000 >
 * mct 16384, so max_prompt = 128000 x 2.5e-6 x 1.05 = 0.336 USD, max_completion
 * = 16384 x 1e-5 x 1.05 = 0.172032, max_cost = (111616 x 2.5e-6 + 16384 x
 * 1e-5) x 1.05 = 0.4650240 USD. */
START_TEST(usd_pricing)
{
	struct catalog *c;
	int64_t v[CATALOG_USD__MAX];
	struct catalog_model m;

	ck_assert_int_eq(catalog_load(NULL, write_file("m.json", catalogue), &c), RERR_OK);
	ck_assert_int_eq(catalog_usd_pricing(catalog_at(c, 0), 1050000, 1, v), RERR_OK);
	ck_assert_int_eq(v[PRICING_PROMPT], 2625000000LL);
	ck_assert_int_eq(v[PRICING_COMPLETION], 10500000000LL);
	ck_assert_int_eq(v[PRICING_IMAGE], 3793650000000LL);
	ck_assert_int_eq(v[CATALOG_USD_MAX_PROMPT], 336000000000000LL);
	ck_assert_int_eq(v[CATALOG_USD_MAX_COMPLETION], 172032000000000LL);
	ck_assert_int_eq(v[CATALOG_USD_MAX_COST], 465024000000000LL);
	/* nothing known: 1e6 prompt and 32000 completion tokens (claude at fee 1) */
	ck_assert_int_eq(catalog_usd_pricing(catalog_at(c, 1), 1000000, 1, v), RERR_OK);
	ck_assert_int_eq(v[CATALOG_USD_MAX_PROMPT], 3000000000000000LL);	/* 3 USD */
	ck_assert_int_eq(v[CATALOG_USD_MAX_COMPLETION], 480000000000000LL);	/* 0.48 */
	ck_assert_int_eq(v[CATALOG_USD_MAX_COST], 3480000000000000LL);
	/* a free model in that case is floored at MIN_REQUEST_MSAT / 1e6 USD */
	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(catalog_usd_pricing(&m, 1000000, 5, v), RERR_OK);
	ck_assert_int_eq(v[CATALOG_USD_MAX_COST], 5000000000LL);
	/* rounding up: 1 fUSD x 1.000001 */
	m.price.fusd[PRICING_PROMPT] = 1;
	ck_assert_int_eq(catalog_usd_pricing(&m, 1000001, 1, v), RERR_OK);
	ck_assert_int_eq(v[PRICING_PROMPT], 2);
	/* too large */
	m.price.fusd[PRICING_PROMPT] = INT64_MAX;
	ck_assert_int_eq(catalog_usd_pricing(&m, 2000000, 1, v), RERR_TOO_LARGE);
	catalog_release(c);
}
END_TEST

/* The shipped fake catalogue loads and prices every mock model. */
START_TEST(fake_catalogue)
{
	static const char *const ids[] = { "mock-model", "mock-model-large", "mock-embedding",
		"mock-cut", "mock-no-usage", "mock-hang", "mock-error-400", "mock-error-429",
		"mock-error-500" };
	struct catalog *c;
	size_t i;

	ck_assert_int_eq(catalog_load(NULL, TOP_SRCDIR "/tests/fakes/models.json", &c), RERR_OK);
	for (i = 0; i < ARRAY_SIZE(ids); i++) {
		const struct catalog_model *m = catalog_find(c, ids[i]);

		ck_assert_msg(m != NULL && m->priced, "%s", ids[i]);
	}
	ck_assert_str_eq(catalog_find(c, "mock-model-latest")->id, "mock-model");
	catalog_release(c);
}
END_TEST

/* Figure: the cost of one lookup in a 20000-model catalogue. */
START_TEST(lookup_cost)
{
	struct catalog *c;
	FILE *f;
	char path[160], name[64];
	int i, n = 20000, rounds = 200000;
	int64_t t0, t1;
	const struct catalog_model *m = NULL;

	snprintf(path, sizeof(path), "%s/big.json", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"data\":[", f);
	for (i = 0; i < n; i++)
		fprintf(f, "%s{\"id\":\"vendor%d/model-%d-2025-01-01\",\"pricing\":"
		    "{\"prompt\":\"0.000001\",\"completion\":\"0.000002\"},"
		    "\"top_provider\":{\"context_length\":8192}}", i ? "," : "", i % 50, i);
	fputs("]}", f);
	fclose(f);
	t0 = mono_usec();
	ck_assert_int_eq(catalog_load(NULL, path, &c), RERR_OK);
	t1 = mono_usec();
	ck_assert_uint_eq(catalog_count(c), (size_t)n);
	fprintf(stderr, "catalog: load of %d models: %lld ms\n", n, (long long)(t1 - t0) / 1000);
	t0 = mono_usec();
	for (i = 0; i < rounds; i++) {
		snprintf(name, sizeof(name), "Model-%d-2025-01-01", (i * 7919) % n);
		m = catalog_find(c, name);
	}
	t1 = mono_usec();
	ck_assert_ptr_nonnull(m);
	fprintf(stderr, "catalog: lookup (incl. snprintf): %lld ns\n",
	    (long long)((t1 - t0) * 1000 / rounds));
	t0 = mono_usec();
	for (i = 0; i < rounds; i++)
		m = catalog_find(c, "MODEL-12345-20250101");	/* miss, then date fallback */
	t1 = mono_usec();
	ck_assert_ptr_nonnull(m);
	fprintf(stderr, "catalog: lookup with -YYYYMMDD fallback: %lld ns\n",
	    (long long)((t1 - t0) * 1000 / rounds));
	catalog_release(c);
}
END_TEST

Suite *
suite(void)
{
	Suite *s = suite_create("catalog");
	TCase *tc = tcase_create("core");

	log_open(NULL, LOG_ERROR);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, loads_file);
	tcase_add_test(tc, file_shapes);
	tcase_add_test(tc, lookup);
	tcase_add_test(tc, alias_conflicts);
	tcase_add_test(tc, db_overrides);
	tcase_add_test(tc, current_reloads);
	tcase_add_test(tc, usd_pricing);
	tcase_add_test(tc, fake_catalogue);
	tcase_add_test(tc, lookup_cost);
	suite_add_tcase(s, tc);
	return s;
}
