/* Check suite for lib/db: the migration runner (order, idempotence, a
 * failing migration leaves the database as it was, newer schemas are
 * refused, the compiled-in migrations apply to a fresh file) and the
 * connection pool (leases given back only when idle; many threads writing
 * through a pool smaller than their number, without a lost write or a
 * deadlock); and request ids that sort by time. */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cron.h"
#include "db_sql.h"
#include "testlib.h"
#include "util.h"

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
START_TEST(pool_lease_and_release)
{
	struct db_pool *p;
	struct db *a, *b;

	ck_assert_int_eq(db_pool_open(path, DB_SYNC_NORMAL, 1, &p), RERR_OK);
	a = db_attach(p);
	b = db_attach(p);
	ck_assert_int_eq(db_exec(a, "CREATE TABLE t (x INTEGER)"), RERR_OK);
	/* In a transaction the connection is not given back... */
	ck_assert_int_eq(db_begin(a), RERR_OK);
	db_release(a);
	ck_assert_int_eq(db_exec(a, "INSERT INTO t VALUES (1)"), RERR_OK);
	ck_assert_int_eq(db_commit(a), RERR_OK);
	/* ...after it, it is, and the other db (pool of one) gets it. */
	db_release(a);
	ck_assert_int_eq(tl_db_int(b, "SELECT count(*) FROM t"), 1);
	db_release(b);
	db_close(a);
	db_close(b);
	db_pool_close(p);
}
END_TEST

#define POOL_THREADS 8
#define POOL_WRITES 200

static struct db_pool *shared_pool;

static void *
pool_writer(void *arg)
{
	struct db *d = db_attach(shared_pool);
	int i;

	(void)arg;
	for (i = 0; i < POOL_WRITES; i++) {
		ck_assert_int_eq(db_begin(d), RERR_OK);
		ck_assert_int_eq(db_exec(d, "UPDATE c SET n = n + 1"), RERR_OK);
		ck_assert_int_eq(db_commit(d), RERR_OK);
		/* A read outside a transaction, then "network I/O". */
		ck_assert_int_gt(tl_db_int(d, "SELECT n FROM c"), 0);
		db_release(d);
	}
	db_close(d);
	return NULL;
}

START_TEST(pool_many_threads_few_connections)
{
	pthread_t t[POOL_THREADS];
	struct db *d;
	int i;

	ck_assert_int_eq(db_pool_open(path, DB_SYNC_NORMAL, 2, &shared_pool), RERR_OK);
	d = db_attach(shared_pool);
	ck_assert_int_eq(db_exec(d, "CREATE TABLE c (n INTEGER); INSERT INTO c VALUES (0)"),
	    RERR_OK);
	db_release(d);
	for (i = 0; i < POOL_THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, pool_writer, NULL), 0);
	for (i = 0; i < POOL_THREADS; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(tl_db_int(d, "SELECT n FROM c"), POOL_THREADS * POOL_WRITES);
	db_close(d);
	db_pool_close(shared_pool);
}
END_TEST

START_TEST(uuid7_sorts_by_time)
{
	char a[37], b[37];

	uuid7(a);
	usleep(2000);
	uuid7(b);
	ck_assert_int_eq((int)strlen(a), 36);
	ck_assert_int_eq(a[14], '7');
	ck_assert(strchr("89ab", a[19]) != NULL);
	ck_assert_int_lt(strcmp(a, b), 0);
}
END_TEST

/* Cron leases: one runner at a time, only when due, a dead runner's lease
 * taken over once it expires, and only the holder gives it back. */
START_TEST(cron_leases)
{
	struct db *db = tl_db_open(path, DB_SYNC_NORMAL);
	struct cron_row row;

	ck_assert_int_eq(cron_take(db, "job", 1000, 60, false, "a"), 1);
	ck_assert_int_eq(cron_take(db, "job", 1001, 60, false, "b"), 0);	/* held */
	ck_assert_int_eq(cron_take(db, "job", 1001, 60, true, "b"), 0);	/* even forced */
	ck_assert_int_eq(cron_done(db, "job", "b", 1002, 30, "not mine"), RERR_CONFLICT);
	ck_assert_int_eq(cron_done(db, "job", "a", 1002, 30, "ok"), RERR_OK);
	ck_assert_int_eq(cron_take(db, "job", 1010, 60, false, "b"), 0);	/* due at 1032 */
	ck_assert_int_eq(cron_take(db, "job", 1010, 60, true, "b"), 1);	/* forced */
	/* b dies holding it: free again at 1070, not before */
	ck_assert_int_eq(cron_take(db, "job", 1069, 60, true, "c"), 0);
	ck_assert_int_eq(cron_take(db, "job", 1070, 60, false, "c"), 1);
	ck_assert_int_eq(cron_done(db, "job", "c", 1071, 30, "done by c"), RERR_OK);
	ck_assert_int_eq(cron_read(db, "job", &row), RERR_OK);
	ck_assert_int_eq(row.runs, 2);
	ck_assert_int_eq(row.next_due, 1101);
	ck_assert_int_eq(row.lease_until, 0);
	ck_assert_str_eq(row.last_status, "done by c");
	ck_assert_int_eq(cron_read(db, "never", &row), RERR_OK);
	ck_assert_int_eq(row.runs, 0);
	db_close(db);
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
	tcase_add_test(tc, pool_lease_and_release);
	tcase_add_test(tc, pool_many_threads_few_connections);
	tcase_add_test(tc, uuid7_sorts_by_time);
	tcase_add_test(tc, cron_leases);
	suite_add_tcase(s, tc);
	return s;
}
