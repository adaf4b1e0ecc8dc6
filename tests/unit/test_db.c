/* Check suite for lib/db's migration runner: order, idempotence, a failing
 * migration leaves the database as it was, newer schemas are refused, and
 * the compiled-in migrations apply to a fresh file. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db_sql.h"
#include "testlib.h"

static char dir[TL_PATH_MAX];
static char path[TL_PATH_MAX + 16];

static void
setup(void)
{
	tl_tmpdir(dir, sizeof(dir), "test_db");
	snprintf(path, sizeof(path), "%s/t.db", dir);
}

static void
teardown(void)
{
	tl_tmpdir_remove(dir);
}

static const struct migration good[] = {
	{ 1, "one", "CREATE TABLE a (x INTEGER);" },
	{ 2, "two", "CREATE TABLE b (y INTEGER); INSERT INTO b VALUES (7);" },
};

START_TEST(applies_in_order_once)
{
	struct db *db;
	char err[256];
	int applied;

	ck_assert_int_eq(db_open(path, DB_SYNC_NORMAL, &db), RERR_OK);
	ck_assert_int_eq(db_schema_version(db), 0);
	ck_assert_int_eq(db_migrate(db, good, 2, &applied, err, sizeof(err)), RERR_OK);
	ck_assert_int_eq(applied, 2);
	ck_assert_int_eq(db_schema_version(db), 2);
	ck_assert_int_eq(tl_db_int(db, "SELECT y FROM b"), 7);
	ck_assert_int_eq(db_migrate(db, good, 2, &applied, err, sizeof(err)), RERR_OK);
	ck_assert_int_eq(applied, 0);
	ck_assert_int_eq(tl_db_int(db, "SELECT count(*) FROM schema_migrations"), 2);
	db_close(db);
}
END_TEST

START_TEST(failure_rolls_back)
{
	static const struct migration bad[] = {
		{ 1, "one", "CREATE TABLE a (x INTEGER);" },
		{ 2, "broken", "CREATE TABLE c (z INTEGER); INSERT INTO c VALUES (1); SELEC oops;" },
		{ 3, "three", "CREATE TABLE d (w INTEGER);" },
	};
	struct db *db;
	char err[256];
	int applied;

	ck_assert_int_eq(db_open(path, DB_SYNC_NORMAL, &db), RERR_OK);
	ck_assert_int_eq(db_migrate(db, bad, 3, &applied, err, sizeof(err)), RERR_DB);
	ck_assert_ptr_nonnull(strstr(err, "0002_broken"));
	ck_assert_int_eq(db_schema_version(db), 1);
	/* Nothing of migration 2 survived, and 3 never ran. */
	ck_assert_int_eq(tl_db_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('c','d')"), 0);
	db_close(db);
}
END_TEST

START_TEST(newer_schema_refused)
{
	struct db *db;
	char err[256];

	ck_assert_int_eq(db_open(path, DB_SYNC_NORMAL, &db), RERR_OK);
	ck_assert_int_eq(db_migrate(db, good, 2, NULL, err, sizeof(err)), RERR_OK);
	ck_assert_int_eq(db_migrate(db, good, 1, NULL, err, sizeof(err)), RERR_CONFLICT);
	ck_assert_ptr_nonnull(strstr(err, "newer"));
	db_close(db);
}
END_TEST

START_TEST(compiled_migrations_apply)
{
	struct db *db;
	char err[256];
	int applied;
	size_t i;

	ck_assert_uint_gt(db_migrations_count, 0);
	for (i = 1; i < db_migrations_count; i++)
		ck_assert_int_gt(db_migrations[i].version, db_migrations[i - 1].version);
	ck_assert_int_eq(db_open(path, DB_SYNC_NORMAL, &db), RERR_OK);
	ck_assert_int_eq(db_migrate(db, db_migrations, db_migrations_count, &applied, err,
	    sizeof(err)), RERR_OK);
	ck_assert_int_eq(applied, (int)db_migrations_count);
	ck_assert_int_eq(tl_db_int(db, "SELECT count(*) FROM settings"), 0);
	db_close(db);
}
END_TEST

START_TEST(url_to_path)
{
	char *p;

	p = db_path_from_url("sqlite:///var/routstr.db");
	ck_assert_str_eq(p, "var/routstr.db");
	free(p);
	p = db_path_from_url("sqlite:////abs/x.db");
	ck_assert_str_eq(p, "/abs/x.db");
	free(p);
	p = db_path_from_url("sqlite+aiosqlite:///keys.db");
	ck_assert_str_eq(p, "keys.db");
	free(p);
	p = db_path_from_url("plain.db");
	ck_assert_str_eq(p, "plain.db");
	free(p);
	ck_assert_ptr_null(db_path_from_url("postgresql://u@h/db"));
	ck_assert_ptr_null(db_path_from_url("sqlite:///"));
}
END_TEST

Suite *
suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("migrations");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, applies_in_order_once);
	tcase_add_test(tc, failure_rolls_back);
	tcase_add_test(tc, newer_schema_refused);
	tcase_add_test(tc, compiled_migrations_apply);
	tcase_add_test(tc, url_to_path);
	suite_add_tcase(s, tc);
	return s;
}
