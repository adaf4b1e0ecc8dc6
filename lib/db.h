/* db: SQLite connections with WAL, a busy timeout, foreign keys, cached
 * prepared statements, and the migration runner. A struct db is owned by
 * exactly one thread; it is never shared. It either owns one connection for
 * its life (db_open: tools, tests) or leases one from a process-wide pool on
 * first use and gives it back with db_release (db_attach: the server's
 * threads), so a connection is held for a transaction, never across network
 * I/O or a client write.
 * This header is what handlers and programs see; the lib/ modules that own
 * SQL (ledger, wallet, catalogue, price) also include db_sql.h. */
#ifndef ROUTSTR_DB_H
#define ROUTSTR_DB_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct db;

enum db_sync { DB_SYNC_OFF, DB_SYNC_NORMAL, DB_SYNC_FULL, DB_SYNC__MAX };

/* One migration: version number, a name, and the SQL text (borrowed). */
struct migration {
	int version;
	const char *name;
	const char *sql;
};

/* The migrations compiled into the program from migrations/NNNN_name.sql,
 * in version order (generated at build time into migrations.c). */
extern const struct migration db_migrations[];
extern const size_t db_migrations_count;

/* Open (creating if needed) the database file at path. The caller owns *out
 * and releases it with db_close. Returns RERR_OK or RERR_DB (reason logged). */
enum rerr db_open(const char *path, enum db_sync sync, struct db **out);
void db_close(struct db *db);

/* A pool of at most max connections to path. The caller owns it; close it
 * after every db attached to it. */
struct db_pool;
enum rerr db_pool_open(const char *path, enum db_sync sync, int max, struct db_pool **out);
void db_pool_close(struct db_pool *p);
/* A db that leases its connection from p when it first needs one (waiting
 * while all max are leased). Caller owns it (db_close). */
struct db *db_attach(struct db_pool *p);
/* Give the leased connection back if it is idle: no transaction, no
 * statement mid-way. A no-op for a db_open db or one holding nothing.
 * Statements fetched before must not be used after. */
void db_release(struct db *db);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. Return RERR_OK or RERR_DB. Write
 * transactions of one process are serialised on a mutex taken by db_begin
 * and released by db_commit (which rolls back when the commit fails) or
 * db_rollback: never hold one across network I/O. */
enum rerr db_begin(struct db *db);
enum rerr db_commit(struct db *db);
void db_rollback(struct db *db);
/* Run SQL text with no results (several statements allowed). */
enum rerr db_exec(struct db *db, const char *sql);

/* Apply every migration of list[0..n) that the schema_migrations table does
 * not record, in order, each in its own transaction. A failed migration is
 * rolled back whole and the run stops: RERR_DB with the reason in errbuf.
 * *applied (may be NULL) counts the ones applied now. A database whose
 * recorded version is newer than the list knows is refused (RERR_CONFLICT). */
enum rerr db_migrate(struct db *db, const struct migration *list, size_t n,
    int *applied, char *errbuf, size_t errlen);
/* Highest applied version, 0 for a fresh database, -1 on error. */
int db_schema_version(struct db *db);

/* Turn a DATABASE_URL ("sqlite:///rel/path", "sqlite:////abs/path",
 * "sqlite+aiosqlite:///x.db") or a plain path into a file path. Caller frees.
 * NULL when the URL names another database kind. */
char *db_path_from_url(const char *url);

#endif
