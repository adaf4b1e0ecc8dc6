/* db: see db.h. */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_sql.h"
#include "log.h"
#include "util.h"

#define DB_BUSY_TIMEOUT_MS 10000
#define DB_STMT_CACHE 256

struct stmt_slot {
	const char *sql;	/* the caller's literal; compared by address */
	sqlite3_stmt *stmt;
};

/* Writers of one process queue here rather than in SQLite's busy handler,
 * which sleeps 1 ms and more between tries: with several worker threads
 * that sleeping, not the work, set the pace of paid requests. Other
 * processes (mod_fcgid, routstrctl) still meet at SQLite's lock. */
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

struct db {
	sqlite3 *h;
	bool writer;		/* holds write_lock (between db_begin and the end) */
	struct stmt_slot cache[DB_STMT_CACHE];
	size_t ncache;
};

enum rerr
db_open(const char *path, enum db_sync sync, struct db **out)
{
	static const char *const sync_sql[DB_SYNC__MAX] = {
		[DB_SYNC_OFF] = "PRAGMA synchronous=OFF",
		[DB_SYNC_NORMAL] = "PRAGMA synchronous=NORMAL",
		[DB_SYNC_FULL] = "PRAGMA synchronous=FULL",
	};
	struct db *db = xcalloc(1, sizeof(*db));
	char *errmsg = NULL;

	*out = NULL;
	if (sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_error("db: cannot open %s: %s", path, db->h ? sqlite3_errmsg(db->h) : "no memory");
		goto fail;
	}
	sqlite3_busy_timeout(db->h, DB_BUSY_TIMEOUT_MS);
	/* The WAL is truncated back to this size after a checkpoint, so a burst
	 * does not leave a file of tens of MiB behind. */
	sqlite3_exec(db->h, "PRAGMA journal_size_limit=16777216", NULL, NULL, NULL);
	sqlite3_extended_result_codes(db->h, 1);
	if (sqlite3_exec(db->h, "PRAGMA journal_mode=WAL", NULL, NULL, &errmsg) != SQLITE_OK ||
	    sqlite3_exec(db->h, sync_sql[sync], NULL, NULL, &errmsg) != SQLITE_OK ||
	    sqlite3_exec(db->h, "PRAGMA foreign_keys=ON", NULL, NULL, &errmsg) != SQLITE_OK) {
		log_error("db: cannot configure %s: %s", path, errmsg ? errmsg : "?");
		sqlite3_free(errmsg);
		goto fail;
	}
	*out = db;
	return RERR_OK;
fail:
	sqlite3_close(db->h);
	free(db);
	return RERR_DB;
}

void
db_close(struct db *db)
{
	size_t i;

	if (db == NULL)
		return;
	for (i = 0; i < db->ncache; i++)
		sqlite3_finalize(db->cache[i].stmt);
	sqlite3_close(db->h);
	free(db);
}

sqlite3 *
db_handle(struct db *db)
{
	return db->h;
}

sqlite3_stmt *
db_stmt(struct db *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	size_t i;

	for (i = 0; i < db->ncache; i++) {
		if (db->cache[i].sql == sql) {
			st = db->cache[i].stmt;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	}
	if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		log_error("db: prepare failed: %s: %s", sqlite3_errmsg(db->h), sql);
		return NULL;
	}
	if (db->ncache < DB_STMT_CACHE) {
		db->cache[db->ncache].sql = sql;
		db->cache[db->ncache].stmt = st;
		db->ncache++;
	} else {
		/* Cache full: a programming error (too many distinct statements);
		 * keep working by evicting the oldest. */
		sqlite3_finalize(db->cache[0].stmt);
		memmove(&db->cache[0], &db->cache[1], (DB_STMT_CACHE - 1) * sizeof(db->cache[0]));
		db->cache[DB_STMT_CACHE - 1].sql = sql;
		db->cache[DB_STMT_CACHE - 1].stmt = st;
	}
	return st;
}

enum rerr
db_exec(struct db *db, const char *sql)
{
	char *errmsg = NULL;

	if (sqlite3_exec(db->h, sql, NULL, NULL, &errmsg) != SQLITE_OK) {
		log_error("db: %s", errmsg ? errmsg : sqlite3_errmsg(db->h));
		sqlite3_free(errmsg);
		return RERR_DB;
	}
	return RERR_OK;
}

static void
release_writer(struct db *db)
{
	if (db->writer) {
		db->writer = false;
		pthread_mutex_unlock(&write_lock);
	}
}

enum rerr
db_begin(struct db *db)
{
	enum rerr e;

	pthread_mutex_lock(&write_lock);
	db->writer = true;
	e = db_exec(db, "BEGIN IMMEDIATE");
	if (e != RERR_OK)
		release_writer(db);
	return e;
}

/* Commit; when that fails, roll back. Either way the transaction is over
 * (and this process's write lock free) when it returns. */
enum rerr
db_commit(struct db *db)
{
	enum rerr e = db_exec(db, "COMMIT");

	if (e != RERR_OK && !sqlite3_get_autocommit(db->h))
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	release_writer(db);
	return e;
}

void
db_rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(db->h))
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	release_writer(db);
}

static const char schema_table_sql[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " applied_at INTEGER NOT NULL)";

int
db_schema_version(struct db *db)
{
	sqlite3_stmt *st;
	int v = -1;

	if (db_exec(db, schema_table_sql) != RERR_OK)
		return -1;
	if (sqlite3_prepare_v2(db->h, "SELECT coalesce(max(version), 0) FROM schema_migrations",
	    -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Apply one migration inside BEGIN IMMEDIATE, re-checking under the lock
 * that no other process applied it meanwhile. 1 applied, 0 already there,
 * -1 failed (rolled back, reason in errbuf). */
static int
apply_one(struct db *db, const struct migration *m, char *errbuf, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	char *errmsg = NULL;
	int rc = -1, present = 0;

	if (sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, &errmsg) != SQLITE_OK)
		goto fail;
	if (sqlite3_prepare_v2(db->h, "SELECT 1 FROM schema_migrations WHERE version = ?",
	    -1, &st, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int(st, 1, m->version);
	present = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	st = NULL;
	if (present) {
		sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL);
		return 0;
	}
	if (sqlite3_exec(db->h, m->sql, NULL, NULL, &errmsg) != SQLITE_OK)
		goto fail;
	if (sqlite3_prepare_v2(db->h,
	    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
	    -1, &st, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int(st, 1, m->version);
	sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, wall_sec());
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_exec(db->h, "COMMIT", NULL, NULL, &errmsg) != SQLITE_OK)
		goto fail;
	return 1;
fail:
	snprintf(errbuf, errlen, "migration %04d_%s failed: %s", m->version, m->name,
	    errmsg ? errmsg : sqlite3_errmsg(db->h));
	sqlite3_free(errmsg);
	sqlite3_finalize(st);
	db_rollback(db);
	(void)rc;
	return -1;
}

enum rerr
db_migrate(struct db *db, const struct migration *list, size_t n, int *applied,
    char *errbuf, size_t errlen)
{
	int have, count = 0;
	size_t i;

	if (applied)
		*applied = 0;
	have = db_schema_version(db);
	if (have < 0) {
		snprintf(errbuf, errlen, "cannot read schema_migrations: %s", sqlite3_errmsg(db->h));
		return RERR_DB;
	}
	if (n > 0 && have > list[n - 1].version) {
		snprintf(errbuf, errlen,
		    "database schema version %d is newer than this program knows (%d)",
		    have, list[n - 1].version);
		return RERR_CONFLICT;
	}
	for (i = 0; i < n; i++) {
		int r;

		if (list[i].version <= have)
			continue;
		r = apply_one(db, &list[i], errbuf, errlen);
		if (r < 0)
			return RERR_DB;
		count += r;
	}
	if (applied)
		*applied = count;
	return RERR_OK;
}

char *
db_path_from_url(const char *url)
{
	const char *p;

	if (strncmp(url, "sqlite", 6) != 0)
		return strchr(url, ':') ? NULL : xstrdup(url);
	p = strstr(url, ":///");
	if (p == NULL)
		return NULL;
	/* "sqlite+aiosqlite" and other drivers of SQLite are the same file. */
	if ((size_t)(p - url) != 6 && url[6] != '+')
		return NULL;
	p += 4;
	if (*p == '\0')
		return NULL;
	return xstrdup(p);
}
