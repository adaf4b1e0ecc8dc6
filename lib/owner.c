/* owner: see owner.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "owner.h"
#include "util.h"

/* Read a small text file into buf (NUL-terminated, trailing newline cut).
 * 0, or -1 with errno set. */
static int
read_small(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -1;
	r = read(fd, buf, n - 1);
	close(fd);
	if (r < 0)
		return -1;
	buf[r] = '\0';
	if (r > 0 && buf[r - 1] == '\n')
		buf[r - 1] = '\0';
	return 0;
}

/* Field 22 (starttime) and field 3 (state) of /proc/<pid>/stat. 0 on
 * success; -1 with errno (ENOENT: no such process). */
static int
proc_stat(pid_t pid, int64_t *start_time, char *state)
{
	char path[64], buf[1024];
	const char *p, *tok;
	uint64_t v;
	int field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return -1;
	/* "pid (comm) state ...": comm may hold spaces and ')', so start
	 * after the last ')'. */
	p = strrchr(buf, ')');
	if (p == NULL || p[1] != ' ') {
		errno = EINVAL;
		return -1;
	}
	p += 2;
	*state = *p;
	for (field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (p == NULL) {
			errno = EINVAL;
			return -1;
		}
		p++;
	}
	tok = p;
	while (*p >= '0' && *p <= '9')
		p++;
	if (parse_u64n(tok, (size_t)(p - tok), INT64_MAX, &v) < 0) {
		errno = EINVAL;
		return -1;
	}
	*start_time = (int64_t)v;
	return 0;
}

/* The target of /proc/<pid>/ns/pid ("pid:[4026531836]"), or "" if unknown. */
static void
pid_namespace(const char *who, char *out, size_t n)
{
	char path[64];
	ssize_t r;

	snprintf(path, sizeof(path), "/proc/%s/ns/pid", who);
	r = readlink(path, out, n - 1);
	out[r > 0 ? r : 0] = '\0';
}

static pthread_mutex_t self_lock = PTHREAD_MUTEX_INITIALIZER;
static struct owner self_cache;

int
owner_self(struct owner *o)
{
	pid_t pid = getpid();
	char state;
	int rc = 0;

	pthread_mutex_lock(&self_lock);
	if (self_cache.pid != pid) {
		struct owner n;

		memset(&n, 0, sizeof(n));
		n.pid = pid;
		if (proc_stat(pid, &n.start_time, &state) < 0 ||
		    read_small("/proc/sys/kernel/random/boot_id", n.boot_id,
		    sizeof(n.boot_id)) < 0) {
			log_error("owner: cannot read this process's identity in /proc");
			rc = -1;
		} else {
			pid_namespace("self", n.pidns, sizeof(n.pidns));
			self_cache = n;
		}
	}
	if (rc == 0)
		*o = self_cache;
	pthread_mutex_unlock(&self_lock);
	return rc;
}

int
owner_alive(pid_t pid, int64_t start_time, const char *boot_id, const char *pidns)
{
	struct owner me;
	int64_t st;
	char state;

	if (owner_self(&me) < 0)
		return -1;
	/* Another boot: every process of that boot is gone. */
	if (strcmp(boot_id, me.boot_id) != 0)
		return 0;
	/* Same boot but another pid namespace (a container): its pids mean
	 * nothing here, so we cannot tell and must not touch it. */
	if (strcmp(pidns, me.pidns) != 0)
		return -1;
	if (pid <= 0)
		return 0;
	if (proc_stat(pid, &st, &state) < 0)
		return errno == ENOENT || errno == ESRCH ? 0 : -1;
	if (st != start_time)
		return 0;	/* the pid was reused by a younger process */
	if (state == 'Z' || state == 'X')
		return 0;	/* exited, not yet reaped */
	return 1;
}

void
owner_tag(const struct owner *o, char out[OWNER_TAG_MAX])
{
	snprintf(out, OWNER_TAG_MAX, "%ld:%lld:%s:%s", (long)o->pid, (long long)o->start_time,
	    o->boot_id, o->pidns);
}

int
owner_self_tag(char out[OWNER_TAG_MAX])
{
	struct owner me;

	if (owner_self(&me) < 0)
		return -1;
	owner_tag(&me, out);
	return 0;
}

int
owner_tag_alive(const char *tag)
{
	char pidns[64], boot[64];
	long long pid, start;
	const char *p, *q;
	int n = 0;

	if (tag == NULL || *tag == '\0')
		return 0;
	/* "pid:start:boot_id:pidns"; pidns itself holds ':' ("pid:[...]"). */
	if (sscanf(tag, "%lld:%lld:%n", &pid, &start, &n) != 2 || n == 0)
		return -1;
	p = tag + n;
	q = strchr(p, ':');
	if (q == NULL || (size_t)(q - p) >= sizeof(boot))
		return -1;
	memcpy(boot, p, (size_t)(q - p));
	boot[q - p] = '\0';
	snprintf(pidns, sizeof(pidns), "%s", q + 1);
	return owner_alive((pid_t)pid, (int64_t)start, boot, pidns);
}
