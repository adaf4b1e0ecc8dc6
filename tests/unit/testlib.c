/* tests/unit/testlib.c: main() for every Check suite, and the helpers they
 * share (temporary directory, migrated database, the Cashu vectors, data files).
 * testlib.h says how a suite uses it. */
#include "config.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db_sql.h"
#include "testlib.h"

/* Runs the suite the test file defines. Exit status 0 or 1 rather than the
 * failure count: automake reads 77 as SKIP and 99 as a hard error, and a
 * status is taken modulo 256. */
int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

void
tl_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("; skipped\n", stderr);
	exit(77);
}

/* ----------------------------------------------------- temporary directory */

void
tl_tmpdir(char *dir, size_t size, const char *tag)
{
	const char *base = getenv("TMPDIR");
	int n;

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	n = snprintf(dir, size, "%s/%s-XXXXXX", base, tag);
	ck_assert_msg(n > 0 && (size_t)n < size, "temporary directory name too long");
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s failed", dir);
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
tl_tmpdir_remove(const char *dir)
{
	ck_assert_msg(nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0,
	    "cannot remove %s", dir);
}

/* ------------------------------------------------------ migrated database */

struct db *
tl_db_open(const char *path, enum db_sync sync)
{
	struct db *db = NULL;
	char err[256] = "";
	int applied = 0;

	ck_assert_int_eq(db_open(path, sync, &db), RERR_OK);
	ck_assert_msg(db_migrate(db, db_migrations, db_migrations_count, &applied, err,
	    sizeof(err)) == RERR_OK, "migrations failed: %s", err);
	ck_assert_int_eq(applied, (int)db_migrations_count);
	return db;
}

int64_t
tl_db_int(struct db *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	ck_assert_msg(sqlite3_prepare_v2(db_handle(db), sql, -1, &st, NULL) == SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(db_handle(db)));
	ck_assert_msg(sqlite3_step(st) == SQLITE_ROW, "%s: no row", sql);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* ------------------------------------------------------------- test data */

json_object *
tl_vectors(void)
{
	const char *path = getenv("CASHU_VECTORS");
	json_object *root;

	if (path == NULL || path[0] == '\0')
		path = TOP_SRCDIR "/tests/data/cashu_vectors.json";
	root = json_object_from_file(path);
	ck_assert_msg(root != NULL, "cannot read the vector file %s", path);
	return root;
}

char *
tl_data(const char *name, size_t *len)
{
	char path[512];
	char *data;
	FILE *f;
	long n;

	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/tests/data/%s", TOP_SRCDIR, name),
	    (int)sizeof(path));
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	ck_assert_int_eq(fseek(f, 0, SEEK_SET), 0);
	data = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(data);
	ck_assert_uint_eq(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	data[n] = '\0';
	*len = (size_t)n;
	return data;
}

json_object *
tl_get(json_object *o, const char *key)
{
	json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, key, &v) && v != NULL, "lacks \"%s\"", key);
	return v;
}

const char *
tl_get_str(json_object *o, const char *key)
{
	json_object *v = tl_get(o, key);

	ck_assert_msg(json_object_is_type(v, json_type_string), "\"%s\" not a string", key);
	return json_object_get_string(v);
}
