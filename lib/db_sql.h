/* db_sql: raw SQLite access for the lib/ modules that own SQL (ledger,
 * cashu wallet, catalogue, price cache). Handlers never include this header:
 * they reach the database only through those modules (DESIGN.md 3). */
#ifndef ROUTSTR_DB_SQL_H
#define ROUTSTR_DB_SQL_H

#include <sqlite3.h>

#include "db.h"

/* The raw handle. It stays owned by db. */
sqlite3 *db_handle(struct db *db);

/* A prepared statement for sql, cached by the string's address: pass string
 * literals. The statement is reset and its bindings cleared before it is
 * returned; it stays owned by db. NULL on a prepare error (logged). */
sqlite3_stmt *db_stmt(struct db *db, const char *sql);

#endif
