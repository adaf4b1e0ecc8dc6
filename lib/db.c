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

/* One SQLite connection with its statement cache. */
struct dbconn {
	sqlite3 *h;
	struct stmt_slot cache[DB_STMT_CACHE];
	size_t ncache;
	struct dbconn *next;	/* in the pool's idle list */
};

/* A process's connections (db_pool_open): leased by a struct db on its first
 * use and given back by db_release, so a thousand threads share a few. */
struct db_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *path;
	enum db_sync sync;
	struct dbconn *idle;
	int open, max;
};

struct db {
	struct db_pool *pool;	/* NULL: c is this db's own, for its whole life */
	struct dbconn *c;	/* the leased (or own) connection; NULL: none now */
	bool writer;		/* holds write_lock (between db_begin and the end) */
};

static enum rerr conn_open(const char *path, enum db_sync sync, struct dbconn **out);
static void conn_close(struct dbconn *c);

enum rerr
db_open(const char *path, enum db_sync sync, struct db **out)
{
	struct db *db = xcalloc(1, sizeof(*db));

	*out = NULL;
	if (conn_open(path, sync, &db->c) != RERR_OK) {
		free(db);
		return RERR_DB;
	}
	*out = db;
	return RERR_OK;
}

enum rerr
db_pool_open(const char *path, enum db_sync sync, int max, struct db_pool **out)
{
	struct db_pool *p = xcalloc(1, sizeof(*p));
	struct dbconn *c;

	*out = NULL;
	/* One connection now, so a bad path fails at start, not mid-request. */
	if (conn_open(path, sync, &c) != RERR_OK) {
		free(p);
		return RERR_DB;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->path = xstrdup(path);
	p->sync = sync;
	p->max = max > 0 ? max : 1;
	p->idle = c;
	p->open = 1;
	*out = p;
	return RERR_OK;
}

void
db_pool_close(struct db_pool *p)
{
	struct dbconn *c, *n;

	if (p == NULL)
		return;
	for (c = p->idle; c; c = n) {
		n = c->next;
		conn_close(c);
	}
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->path);
	free(p);
}

struct db *
db_attach(struct db_pool *p)
{
	struct db *db = xcalloc(1, sizeof(*db));

	db->pool = p;
	return db;
}

/* The connection of db, leased from its pool when it has none: an idle one,
 * a new one while under the pool's size, else wait for one to come back.
 * Aborts when no connection can be opened at all (the file vanished). */
static struct dbconn *
conn_of(struct db *db)
{
	struct db_pool *p = db->pool;
	struct dbconn *c = NULL;
	bool failed = false;

	if (db->c)
		return db->c;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		if (p->idle) {
			c = p->idle;
			p->idle = c->next;
			break;
		}
		/* After a failed open, wait for one of the open ones instead. */
		if (p->open < p->max && !failed) {
			p->open++;
			pthread_mutex_unlock(&p->mu);
			if (conn_open(p->path, p->sync, &c) == RERR_OK) {
				db->c = c;
				return c;
			}
			pthread_mutex_lock(&p->mu);
			p->open--;
			failed = true;
			if (p->open == 0) {
				pthread_mutex_unlock(&p->mu);
				log_error("db: no connection to %s can be opened", p->path);
				abort();
			}
			continue;
		}
		pthread_cond_wait(&p->cv, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	c->next = NULL;
	db->c = c;
	return c;
}

void
db_release(struct db *db)
{
	struct db_pool *p;
	struct dbconn *c;
	sqlite3_stmt *st = NULL;

	if (db == NULL || db->pool == NULL || db->c == NULL || db->writer)
		return;
	c = db->c;
	/* Only an idle connection goes back: no transaction open, no
	 * statement mid-way through its rows. */
	if (!sqlite3_get_autocommit(c->h))
		return;
	while ((st = sqlite3_next_stmt(c->h, st)) != NULL)
		if (sqlite3_stmt_busy(st))
			return;
	p = db->pool;
	db->c = NULL;
	pthread_mutex_lock(&p->mu);
	c->next = p->idle;
	p->idle = c;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static enum rerr
conn_open(const char *path, enum db_sync sync, struct dbconn **out)
{
	static const char *const sync_sql[DB_SYNC__MAX] = {
		[DB_SYNC_OFF] = "PRAGMA synchronous=OFF",
		[DB_SYNC_NORMAL] = "PRAGMA synchronous=NORMAL",
		[DB_SYNC_FULL] = "PRAGMA synchronous=FULL",
	};
	struct dbconn *db = xcalloc(1, sizeof(*db));
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

static void
conn_close(struct dbconn *db)
{
	size_t i;

	if (db == NULL)
		return;
	for (i = 0; i < db->ncache; i++)
		sqlite3_finalize(db->cache[i].stmt);
	sqlite3_close(db->h);
	free(db);
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	if (db->pool) {
		if (db->writer)
			db_rollback(db);
		db_release(db);
		if (db->c) {
			/* Still busy (a statement left mid-way): not fit to share. */
			pthread_mutex_lock(&db->pool->mu);
			db->pool->open--;
			pthread_mutex_unlock(&db->pool->mu);
			conn_close(db->c);
		}
	} else {
		conn_close(db->c);
	}
	free(db);
}

sqlite3 *
db_handle(struct db *d)
{
	return conn_of(d)->h;
}

sqlite3_stmt *
db_stmt(struct db *d, const char *sql)
{
	struct dbconn *db = conn_of(d);
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
db_exec(struct db *d, const char *sql)
{
	struct dbconn *db = conn_of(d);
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

	/* The connection first, then the write lock: the lock's holder never
	 * waits for a connection held by a thread that waits for the lock. */
	conn_of(db);
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

	if (e != RERR_OK && !sqlite3_get_autocommit(db_handle(db)))
		sqlite3_exec(db_handle(db), "ROLLBACK", NULL, NULL, NULL);
	release_writer(db);
	return e;
}

void
db_rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(db_handle(db)))
		sqlite3_exec(db_handle(db), "ROLLBACK", NULL, NULL, NULL);
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
	if (sqlite3_prepare_v2(db_handle(db), "SELECT coalesce(max(version), 0) FROM schema_migrations",
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

	if (sqlite3_exec(db_handle(db), "BEGIN IMMEDIATE", NULL, NULL, &errmsg) != SQLITE_OK)
		goto fail;
	if (sqlite3_prepare_v2(db_handle(db), "SELECT 1 FROM schema_migrations WHERE version = ?",
	    -1, &st, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int(st, 1, m->version);
	present = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	st = NULL;
	if (present) {
		sqlite3_exec(db_handle(db), "COMMIT", NULL, NULL, NULL);
		return 0;
	}
	if (sqlite3_exec(db_handle(db), m->sql, NULL, NULL, &errmsg) != SQLITE_OK)
		goto fail;
	if (sqlite3_prepare_v2(db_handle(db),
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
	if (sqlite3_exec(db_handle(db), "COMMIT", NULL, NULL, &errmsg) != SQLITE_OK)
		goto fail;
	return 1;
fail:
	snprintf(errbuf, errlen, "migration %04d_%s failed: %s", m->version, m->name,
	    errmsg ? errmsg : sqlite3_errmsg(db_handle(db)));
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
		snprintf(errbuf, errlen, "cannot read schema_migrations: %s", sqlite3_errmsg(db_handle(db)));
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
