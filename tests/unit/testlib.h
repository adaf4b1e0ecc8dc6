/* tests/unit/testlib.h: the small library every Check suite in tests/unit/
 * links, so that a suite file holds only its cases.
 *
 * A suite file includes <check.h> and "testlib.h", writes its START_TEST
 * cases, and defines
 *
 *	Suite *suite(void);
 *
 * which builds and returns its Suite. testlib.c has main(): it calls suite()
 * once, in the parent process before Check forks for any test, so process-wide
 * set-up belongs there too (log_open, upstream_global_init, or tl_skip when a
 * prerequisite is missing); then it runs every case with srunner and exits
 * 0 when all passed, 1 otherwise.
 *
 * Wiring a new suite (in the local.mk of the module it tests; UNIT_LIBS
 * brings tests/unit/libtestlib.a, which holds main()):
 *
 *	check_PROGRAMS += tests/unit/test_foo
 *	TESTS += tests/unit/test_foo
 *	tests_unit_test_foo_SOURCES = tests/unit/test_foo.c
 *	tests_unit_test_foo_CFLAGS = $(UNIT_CFLAGS)
 *	tests_unit_test_foo_LDADD = $(UNIT_LIBS)
 *
 * Every helper fails the running test (ck_assert) instead of returning an
 * error, so a case can use them without checking. tests/unit/README has the
 * same in prose. */
#ifndef ROUTSTR_TESTLIB_H
#define ROUTSTR_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

#include <check.h>
#include <json-c/json.h>

#include "db.h"

/* Set by the build to the absolute source directory (distcheck included). */
#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

/* Big enough for every path a helper writes: a temporary directory and a
 * file name inside it. */
#define TL_PATH_MAX 128

/* Defined by each suite file; see above. */
Suite *suite(void);

/* Print the reason (printf format) and "; skipped" to stderr and exit 77,
 * which automake reports as SKIP. Call it from suite(), never from a case. */
void tl_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ----------------------------------------------------- temporary directory */

/* Create a fresh private directory "$TMPDIR/<tag>-XXXXXX" (/tmp without
 * TMPDIR) and write its path into dir (size bytes, TL_PATH_MAX is enough). */
void tl_tmpdir(char *dir, size_t size, const char *tag);

/* Remove dir and everything below it (no shell, no symlinks followed). */
void tl_tmpdir_remove(const char *dir);

/* ------------------------------------------------------ migrated database */

/* Open a new SQLite file at path in the given durability mode and apply
 * every compiled-in migration (migrations/NNNN_*.sql), as the programs do
 * at start. The caller owns the handle (db_close). */
struct db *tl_db_open(const char *path, enum db_sync sync);

/* The first column of the one row sql returns, e.g. a count(*). */
int64_t tl_db_int(struct db *db, const char *sql);

/* ------------------------------------------------------------- test data */

/* The whole Cashu vector file, tests/data/cashu_vectors.json (env
 * CASHU_VECTORS names another). The caller owns the tree (json_object_put);
 * a missing or broken file fails the test. */
json_object *tl_vectors(void);

/* The bytes of tests/data/<name> in a new buffer the caller frees (one NUL
 * more than *len, not counted, for convenience); a missing file fails the
 * test. */
char *tl_data(const char *name, size_t *len);

/* The member key of o, borrowed from o; fails the test when o has no such
 * member or it is null. */
json_object *tl_get(json_object *o, const char *key);

/* The string member key of o, borrowed from o; fails the test unless it is
 * a string. */
const char *tl_get_str(json_object *o, const char *key);

#endif
