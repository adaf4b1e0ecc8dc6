/* cron: the leases under which routstrctl cron runs its periodic jobs
 * (migrations/0009_cron.sql), so that several crontabs or overlapping runs
 * run each job one at a time and only when due. A lease is time-bound, so it
 * would hold across machines too; a holder on this host whose process is
 * gone frees it at once, one whose liveness cannot be judged here (another
 * host or pid namespace) only when it expires. (The database itself, SQLite
 * in WAL mode, must stay on one host's disk.)
 *
 * Who owns what: the cron_jobs table is the only shared state; the caller
 * (cli/cmd_money.c) owns the job list and runs the jobs. A lease is taken
 * in one conditional UPDATE (due, and free, expired or dead) and given back
 * with the job's status. */
#ifndef ROUTSTR_CRON_H
#define ROUTSTR_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "err.h"

#define CRON_STATUS_MAX 200

/* Take job name's lease for lease_s seconds as holder: 1 taken, 0 not due
 * or held by another runner, -1 database error. force: whether due or not
 * (a lease held by another runner is still respected). */
int cron_take(struct db *db, const char *name, int64_t now, int64_t lease_s, bool force,
    const char *holder);

/* Give the lease back after a run: next due every_s seconds after now,
 * status kept for `routstrctl cron --list`. Only the holder's lease. */
enum rerr cron_done(struct db *db, const char *name, const char *holder, int64_t now,
    int64_t every_s, const char *status);

/* One row, for listing. */
struct cron_row {
	char name[64];
	int64_t lease_until, next_due, last_started, last_finished, runs;
	char holder[128];
	char last_status[CRON_STATUS_MAX + 1];
};
/* The rows of the given names (missing ones zeroed with their name). */
enum rerr cron_read(struct db *db, const char *name, struct cron_row *out);

#endif
