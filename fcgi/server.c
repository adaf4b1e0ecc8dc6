/* server: see server.h. */
#include "config.h"

#include <errno.h>
#include <fcgiapp.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf.h"
#include "db.h"
#include "log.h"
#include "server.h"
#include "upstream.h"
#include "util.h"

#define LISTEN_BACKLOG 128

static volatile sig_atomic_t stopping;
static int listen_fd = -1;
static struct worker *workers;		/* for the stop handler */
static int nworkers_started;

static int
listen_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	unlink(path);	/* a stale socket from an earlier run */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, LISTEN_BACKLOG) < 0)
		goto fail;
	/* The web server may run as another user (www-data): let it connect.
	 * Who may reach the socket is decided by the directory it lives in. */
	chmod(path, 0666);
	return fd;
fail:
	snprintf(err, errlen, "cannot listen on unix:%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int
listen_tcp(const char *hostport, char *err, size_t errlen)
{
	struct addrinfo hints, *ai = NULL;
	const char *colon = strrchr(hostport, ':');
	char host[256];
	int fd = -1, one = 1, rc;

	if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host)) {
		snprintf(err, errlen, "bad socket address '%s' (want host:port)", hostport);
		return -1;
	}
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	rc = getaddrinfo(*host ? host : "127.0.0.1", colon + 1, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "bad socket address '%s': %s", hostport, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* SO_REUSEADDR: a restart must not fail on connections in TIME_WAIT. */
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", hostport, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

int
server_listen(const char *spec, char *err, size_t errlen)
{
	if (spec == NULL || *spec == '\0')
		return 0;	/* spawned by the web server: the socket is fd 0 */
	if (strncmp(spec, "unix:", 5) == 0)
		return listen_unix(spec + 5, err, errlen);
	if (strncmp(spec, "tcp:", 4) == 0)
		return listen_tcp(spec + 4, err, errlen);
	if (spec[0] == '/')
		return listen_unix(spec, err, errlen);
	return listen_tcp(spec, err, errlen);
}

/* SIGTERM/SIGINT/SIGUSR1: stop accepting. shutdown(2) wakes every thread
 * blocked in accept(2) inside FCGX_Accept_r; requests in flight finish. */
static void
on_stop_signal(int sig)
{
	int i;

	(void)sig;
	stopping = 1;
	if (listen_fd >= 0)
		shutdown(listen_fd, SHUT_RDWR);
	/* A worker waiting for the next request on a kept-alive connection
	 * (mod_proxy_fcgi enablereuse) is not in accept(2): end the read side
	 * of that connection so it wakes up too. Busy workers are left alone
	 * and leave after their request. */
	for (i = 0; i < nworkers_started; i++) {
		FCGX_Request *rq = workers[i].fcgx;

		if (workers[i].idle && rq && rq->ipcFd >= 0)
			shutdown(rq->ipcFd, SHUT_RD);
	}
}

static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

struct worker_arg {
	struct worker *w;
	int fd;
	const char *db_path;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	FCGX_Request *rq = w->fcgx;

	while (!stopping) {
		int rc;

		w->idle = 1;
		rc = FCGX_Accept_r(rq);
		w->idle = 0;
		if (rc < 0)
			break;
		/* A request accepted while stopping is still answered. */
		http_serve(w);
		FCGX_Finish_r(rq);
	}
	return NULL;
}

int
server_run(int fd, int nworkers, const char *db_path)
{
	const struct conf *c = conf_get();
	struct worker *ws = xcalloc((size_t)nworkers, sizeof(*ws));
	int i, started = 0;

	listen_fd = fd;
	workers = ws;
	if (FCGX_Init() != 0) {
		log_error("FCGX_Init failed");
		free(ws);
		return -1;
	}
	/* After FCGX_Init, which installs handlers that only set a flag. */
	install_signals();
	for (i = 0; i < nworkers; i++) {
		struct worker *w = &ws[i];

		w->id = i;
		if (db_open(db_path, (enum db_sync)conf_int(c, CONF_DB_SYNCHRONOUS), &w->db) != RERR_OK)
			break;
		w->up = upstream_new();
		w->fcgx = xcalloc(1, sizeof(FCGX_Request));
		FCGX_InitRequest(w->fcgx, fd, 0);
		if (w->up == NULL || pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			log_error("cannot start worker %d", i);
			break;
		}
		started++;
		nworkers_started = started;
	}
	log_info("routstr %s serving with %d worker%s (pid %d)", ROUTSTR_VERSION, started,
	    started == 1 ? "" : "s", (int)getpid());
	for (i = 0; i < started; i++)
		pthread_join(ws[i].thread, NULL);
	nworkers_started = 0;
	for (i = 0; i < nworkers; i++) {
		db_close(ws[i].db);
		upstream_free(ws[i].up);
		if (ws[i].fcgx)
			FCGX_Free(ws[i].fcgx, 0);
		free(ws[i].fcgx);
	}
	free(ws);
	log_info("routstr stopped (pid %d)", (int)getpid());
	return started > 0 ? 0 : -1;
}
