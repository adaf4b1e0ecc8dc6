/* settings: see settings.h. */
#include "config.h"

#include "db_sql.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "settings.h"
#include "util.h"

static int64_t
version_of(struct db *db)
{
	static const char sql[] = "SELECT version FROM settings_version WHERE id = 1";
	sqlite3_stmt *st = db_stmt(db, sql);
	int64_t v = -1;

	if (st == NULL)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v;
}

enum rerr
settings_apply(struct db *db, struct conf *c)
{
	static const char sql[] = "SELECT key, value FROM settings ORDER BY key";
	sqlite3_stmt *st;
	char err[256];
	int rc, k;

	conf_set_version(c, version_of(db));
	if ((st = db_stmt(db, sql)) == NULL)
		return RERR_DB;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *value = (const char *)sqlite3_column_text(st, 1);

		k = conf_key_of(name ? name : "");
		if (k < 0 || conf_set_dashboard(c, (enum conf_key)k, value ? value : "", err,
		    sizeof(err)) < 0)
			log_warn("settings: the saved %s is skipped: %s", name ? name : "?",
			    k < 0 ? "no such setting" : err);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? RERR_OK : RERR_DB;
}

/* Build this process's conf afresh and install it. */
static void
install(struct db *db)
{
	struct conf *c;
	char err[512];

	c = conf_reload(conf_get(), err, sizeof(err));
	if (c == NULL) {
		log_error("settings: the settings no longer load (%s); keeping the current ones", err);
		return;
	}
	if (settings_apply(db, c) != RERR_OK) {
		conf_free(c);
		return;
	}
	conf_set_global(c);
}

enum rerr
settings_save(struct db *db, const char *env, const char *value, char *why, size_t n)
{
	static const char put_sql[] =
	    "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)"
	    " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
	static const char del_sql[] = "DELETE FROM settings WHERE key = ?1";
	static const char bump_sql[] = "UPDATE settings_version SET version = version + 1 WHERE id = 1";
	struct conf *check;
	sqlite3_stmt *st;
	int k = conf_key_of(env ? env : "");
	enum rerr e = RERR_DB;

	why[0] = '\0';
	if (k < 0 || !conf_editable((enum conf_key)k)) {
		snprintf(why, n, "%s cannot be changed here", env ? env : "?");
		return RERR_INVALID;
	}
	if (value) {
		/* Checked as the file would be, on a scratch copy. */
		if ((check = conf_reload(conf_get(), why, n)) == NULL)
			return RERR_INTERNAL;
		if (conf_set_dashboard(check, (enum conf_key)k, value, why, n) < 0) {
			conf_free(check);
			return RERR_INVALID;
		}
		conf_free(check);
	}
	if (db_begin(db) != RERR_OK)
		return RERR_DB;
	if ((st = db_stmt(db, value ? put_sql : del_sql)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, env, -1, SQLITE_STATIC);
	if (value) {
		sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, wall_sec());
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		goto out;
	}
	sqlite3_reset(st);
	if ((st = db_stmt(db, bump_sql)) == NULL)
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		goto out;
	}
	sqlite3_reset(st);
	e = RERR_OK;
out:
	if (e == RERR_OK && db_commit(db) == RERR_OK) {
		install(db);
		return RERR_OK;
	}
	db_rollback(db);
	return RERR_DB;
}

void
settings_refresh(struct db *db)
{
	static _Atomic int64_t checked;
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	int64_t now = wall_sec(), last = atomic_load(&checked), v;

	if (now == last || !atomic_compare_exchange_strong(&checked, &last, now))
		return;
	v = version_of(db);
	if (v < 0 || v == conf_version(conf_get()))
		return;
	pthread_mutex_lock(&lock);
	if (v != conf_version(conf_get())) {
		install(db);
		log_info("settings: the dashboard's settings changed; now at version %lld",
		    (long long)v);
	}
	pthread_mutex_unlock(&lock);
}
