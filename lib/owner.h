/* owner: which process holds something (a reservation, a mint operation, a
 * withdrawal), told apart from a later process that reuses its pid. An owner
 * is (pid, start time in clock ticks since boot, boot id, pid namespace); a
 * record whose owner is gone may be finished by anyone (the sweeper, cron,
 * recovery at start-up or inline). Reads /proc; no database. */
#ifndef ROUTSTR_OWNER_H
#define ROUTSTR_OWNER_H

#include <stdint.h>
#include <sys/types.h>

#define OWNER_TAG_MAX 160	/* "pid:start:boot_id:pidns" */

struct owner {
	pid_t pid;
	int64_t start_time;
	char boot_id[64];
	char pidns[64];
};

/* This process's identity, computed once per pid (a fork recomputes).
 * 0, or -1 when /proc cannot tell (logged). */
int owner_self(struct owner *o);

/* Whether the process recorded as (pid, start_time, boot_id, pidns) is still
 * running: 1 alive, 0 gone, -1 cannot tell (another pid namespace). */
int owner_alive(pid_t pid, int64_t start_time, const char *boot_id, const char *pidns);

/* The owner as one text column, and back: owner_tag_alive of NULL or ""
 * (nobody holds it) is 0; a malformed tag is -1 (cannot tell). */
void owner_tag(const struct owner *o, char out[OWNER_TAG_MAX]);
int owner_self_tag(char out[OWNER_TAG_MAX]);
int owner_tag_alive(const char *tag);

#endif
