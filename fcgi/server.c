/* server: see server.h. */
#include "config.h"

#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <pthread.h>

#include "conf.h"
#include "db.h"
#include "log.h"
#include "server.h"
#include "upstream.h"
#include "util.h"

#define LISTEN_BACKLOG 128
#define IDLE_MARGIN 32		/* idle threads kept beyond WORKERS before one retires */

static volatile sig_atomic_t stopping;
static int listen_fd = -1;
static int wake_pipe[2] = { -1, -1 };	/* the stop handler wakes the main thread */

/* The elastic worker set. A thread waits in accept; when the last waiting
 * thread takes a connection it starts another, up to the ceiling (plus one
 * spare that answers 503 beyond it), so no request waits for another to
 * finish; a thread that finds enough others waiting retires. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t gone;		/* a thread exited */
	struct worker *list;		/* every running worker */
	int threads;			/* running */
	int accepting;			/* in accept(2) on the listening socket */
	int busy;			/* serving a request */
	int floor, ceiling, peak;
	int fd;
	struct db_pool *pool;
	pthread_attr_t attr;
} ws = { .mu = PTHREAD_MUTEX_INITIALIZER, .gone = PTHREAD_COND_INITIALIZER };

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
 * blocked in accept(2) inside FCGX_Accept_r; the main thread, woken by the
 * pipe, wakes those waiting on kept connections. Requests in flight finish. */
static void
on_stop_signal(int sig)
{
	int saved = errno;

	(void)sig;
	stopping = 1;
	if (listen_fd >= 0)
		shutdown(listen_fd, SHUT_RDWR);
	if (wake_pipe[1] >= 0)
		(void)!write(wake_pipe[1], "x", 1);
	errno = saved;
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

/* Before any network I/O on the worker's curl handle: its database
 * connection goes back to the pool. */
static void
release_db(void *ud)
{
	db_release(((struct worker *)ud)->db);
}

static int start_worker(void);

/* Answer one request beyond the ceiling without running its handler. */
static void
answer_overload(struct worker *w)
{
	FCGX_Request *rq = w->fcgx;

	FCGX_FPrintF(rq->out, "Status: 503 Service Unavailable\r\nRetry-After: 1\r\n"
	    "Content-Type: application/json\r\nCache-Control: no-store\r\n\r\n"
	    "{\"error\":{\"message\":\"The node is at its limit of %d requests at once; "
	    "retry shortly\",\"type\":\"server_overloaded\",\"code\":\"overloaded\"}}",
	    ws.ceiling);
	log_warn("overloaded: %d requests in flight, answered 503", ws.ceiling);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	FCGX_Request *rq = w->fcgx;
	struct worker **pp;

	while (!stopping) {
		bool acceptor, spawn, over, retire;
		int rc;

		/* A thread waiting on its kept connection (mod_proxy_fcgi
		 * enablereuse) is not accepting new ones. */
		acceptor = rq->ipcFd < 0;
		pthread_mutex_lock(&ws.mu);
		ws.accepting += acceptor;
		w->idle = 1;
		pthread_mutex_unlock(&ws.mu);
		rc = FCGX_Accept_r(rq);
		pthread_mutex_lock(&ws.mu);
		w->idle = 0;
		ws.accepting -= acceptor;
		if (rc >= 0)
			ws.busy++;
		if (ws.busy > ws.peak)
			ws.peak = ws.busy;
		/* A fixed set (MAX_WORKERS == WORKERS, as under mod_fcgid, which
		 * sends a process one request at a time) never grows. */
		spawn = rc >= 0 && !stopping && ws.accepting == 0 && ws.ceiling > ws.floor &&
		    ws.threads <= ws.ceiling;
		over = ws.busy > ws.ceiling;
		pthread_mutex_unlock(&ws.mu);
		if (rc < 0)
			break;
		if (spawn)
			start_worker();
		/* A request accepted while stopping is still answered. */
		if (over)
			answer_overload(w);
		else
			http_serve(w);
		FCGX_Finish_r(rq);
		db_release(w->db);
		pthread_mutex_lock(&ws.mu);
		ws.busy--;
		/* Keep a margin of idle threads above the floor: a thread
		 * started for a burst keeps its upstream connection for the
		 * next one instead of retiring at once. */
		retire = rq->ipcFd < 0 && ws.accepting >= ws.floor + IDLE_MARGIN &&
		    ws.threads > ws.floor;
		pthread_mutex_unlock(&ws.mu);
		if (retire)
			break;
	}
	pthread_mutex_lock(&ws.mu);
	for (pp = &ws.list; *pp && *pp != w; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = w->next;
	pthread_mutex_unlock(&ws.mu);
	/* Everything the thread holds is freed before it counts as gone: the
	 * main thread then closes the pool and libcurl's share. */
	db_close(w->db);
	upstream_free(w->up);
	FCGX_Free(rq, 1);
	free(rq);
	free(w);
	pthread_mutex_lock(&ws.mu);
	ws.threads--;
	pthread_cond_broadcast(&ws.gone);
	pthread_mutex_unlock(&ws.mu);
	return NULL;
}

/* Start one more worker thread (detached; it frees itself). 0 or -1. */
static int
start_worker(void)
{
	static int next_id;
	struct worker *w = xcalloc(1, sizeof(*w));
	pthread_t t;

	w->db = db_attach(ws.pool);
	w->up = upstream_new();
	w->fcgx = xcalloc(1, sizeof(FCGX_Request));
	FCGX_InitRequest(w->fcgx, ws.fd, 0);
	if (w->up == NULL)
		goto fail;
	upstream_set_before_io(w->up, release_db, w);
	pthread_mutex_lock(&ws.mu);
	w->id = next_id++;
	w->next = ws.list;
	ws.list = w;
	ws.threads++;
	if (pthread_create(&t, &ws.attr, worker_main, w) != 0) {
		ws.list = w->next;
		ws.threads--;
		pthread_mutex_unlock(&ws.mu);
		log_error("cannot start a worker thread: %s", strerror(errno));
		goto fail;
	}
	pthread_mutex_unlock(&ws.mu);
	return 0;
fail:
	db_close(w->db);
	upstream_free(w->up);
	free(w->fcgx);
	free(w);
	return -1;
}

/* Stack per thread: what a request holds (JSON, SQLite, OpenSSL, curl) fits
 * in 256 KiB with room to spare; the sanitizers need far more. */
#if defined(__SANITIZE_ADDRESS__)
#define WORKER_STACK (4u << 20)
#else
#define WORKER_STACK (256u << 10)
#endif

int
server_run(int fd, int nworkers, const char *db_path)
{
	const struct conf *c = conf_get();
	struct worker *w;
	char b;
	int i;

	listen_fd = fd;
	if (FCGX_Init() != 0) {
		log_error("FCGX_Init failed");
		return -1;
	}
	if (pipe2(wake_pipe, O_CLOEXEC) != 0)
		return -1;
	if (db_pool_open(db_path, (enum db_sync)conf_int(c, CONF_DB_SYNCHRONOUS),
	    (int)conf_int(c, CONF_DB_POOL_SIZE), &ws.pool) != RERR_OK)
		return -1;
	pthread_attr_init(&ws.attr);
	pthread_attr_setdetachstate(&ws.attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&ws.attr, WORKER_STACK);
	ws.fd = fd;
	ws.floor = nworkers;
	ws.ceiling = (int)conf_int(c, CONF_MAX_WORKERS);
	if (ws.ceiling < ws.floor)
		ws.ceiling = ws.floor;
	/* After FCGX_Init, which installs handlers that only set a flag. */
	install_signals();
	for (i = 0; i < nworkers; i++)
		if (start_worker() != 0)
			break;
	log_info("routstr %s serving with %d worker%s, up to %d (pid %d)", ROUTSTR_VERSION, i,
	    i == 1 ? "" : "s", ws.ceiling, (int)getpid());
	if (i == 0) {
		db_pool_close(ws.pool);
		return -1;
	}
	while (!stopping && read(wake_pipe[0], &b, 1) < 0 && errno == EINTR)
		;
	/* Stopping: wake the threads waiting on kept connections (they are
	 * not in accept(2)); busy ones leave after their request. */
	pthread_mutex_lock(&ws.mu);
	for (w = ws.list; w; w = w->next) {
		FCGX_Request *rq = w->fcgx;

		if (w->idle && rq->ipcFd >= 0)
			shutdown(rq->ipcFd, SHUT_RD);
	}
	while (ws.threads > 0)
		pthread_cond_wait(&ws.gone, &ws.mu);
	pthread_mutex_unlock(&ws.mu);
	log_info("routstr stopped (pid %d); at most %d requests were served at once",
	    (int)getpid(), ws.peak);
	db_pool_close(ws.pool);
	pthread_attr_destroy(&ws.attr);
	return 0;
}
