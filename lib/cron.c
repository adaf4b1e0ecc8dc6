/* cron: see cron.h. */
#include "config.h"

#include "db_sql.h"

#include <stdio.h>
#include <string.h>

#include "cron.h"
#include "log.h"
#include "owner.h"

int
cron_take(struct db *db, const char *name, int64_t now, int64_t lease_s, bool force,
    const char *holder)
{
	static const char ins_sql[] = "INSERT OR IGNORE INTO cron_jobs (name) VALUES (?1)";
	static const char get_sql[] =
	    "SELECT lease_until, coalesce(holder, '') FROM cron_jobs WHERE name = ?1";
	static const char take_sql[] =
	    "UPDATE cron_jobs SET lease_until = ?2 + ?3, holder = ?4, last_started = ?2"
	    " WHERE name = ?1 AND (lease_until <= ?2 OR ?6) AND (?5 OR next_due <= ?2)";
	sqlite3_stmt *st;
	char held[OWNER_TAG_MAX] = "";
	int64_t until = 0;
	bool dead = false;
	int rc, n;

	if (db_begin(db) != RERR_OK)
		return -1;
	if ((st = db_stmt(db, ins_sql)) == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE || (st = db_stmt(db, get_sql)) == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		until = sqlite3_column_int64(st, 0);
		snprintf(held, sizeof(held), "%s", (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_reset(st);
	/* A holder on this host whose process is gone (kill -9, a crash)
	 * frees the lease at once; one whose liveness cannot be judged
	 * here (another host, another pid namespace) keeps it until
	 * lease_until. */
	dead = until > now && *held && owner_tag_alive(held) == 0;
	if ((st = db_stmt(db, take_sql)) == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, lease_s);
	sqlite3_bind_text(st, 4, holder, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, force);
	sqlite3_bind_int(st, 6, dead);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto fail;
	n = sqlite3_changes(db_handle(db));
	if (db_commit(db) != RERR_OK)
		return -1;
	return n == 1;
fail:
	log_error("cron: lease of %s: %s", name, sqlite3_errmsg(db_handle(db)));
	db_rollback(db);
	return -1;
}

enum rerr
cron_done(struct db *db, const char *name, const char *holder, int64_t now, int64_t every_s,
    const char *status)
{
	static const char sql[] =
	    "UPDATE cron_jobs SET lease_until = 0, holder = NULL, next_due = ?3 + ?4,"
	    " last_finished = ?3, last_status = substr(?5, 1, 200), runs = runs + 1"
	    " WHERE name = ?1 AND holder = ?2";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return RERR_DB;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, holder, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, every_s);
	sqlite3_bind_text(st, 5, status ? status : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return RERR_DB;
	/* 0 rows: the lease expired and another runner took it meanwhile. */
	return sqlite3_changes(db_handle(db)) == 1 ? RERR_OK : RERR_CONFLICT;
}

enum rerr
cron_read(struct db *db, const char *name, struct cron_row *out)
{
	static const char sql[] =
	    "SELECT lease_until, next_due, coalesce(last_started, 0), coalesce(last_finished, 0),"
	    " runs, coalesce(holder, ''), coalesce(last_status, '') FROM cron_jobs WHERE name = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", name);
	if (st == NULL)
		return RERR_DB;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->lease_until = sqlite3_column_int64(st, 0);
		out->next_due = sqlite3_column_int64(st, 1);
		out->last_started = sqlite3_column_int64(st, 2);
		out->last_finished = sqlite3_column_int64(st, 3);
		out->runs = sqlite3_column_int64(st, 4);
		snprintf(out->holder, sizeof(out->holder), "%s", sqlite3_column_text(st, 5));
		snprintf(out->last_status, sizeof(out->last_status), "%s",
		    sqlite3_column_text(st, 6));
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? RERR_OK : RERR_DB;
}
