/* server: the process — listening socket, elastic worker threads, shutdown.
 * Each worker thread owns one struct worker for its whole life: its FastCGI
 * request, its db (a connection leased from the process's pool only while
 * it is used) and its curl handle (whose connections, DNS and TLS sessions
 * are shared by every thread). Threads start when the last waiting one takes
 * a request, up to MAX_WORKERS, and retire when WORKERS others wait. */
#ifndef ROUTSTR_SERVER_H
#define ROUTSTR_SERVER_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

struct db;
struct upstream;

struct worker {
	int id;
	pthread_t thread;
	struct db *db;		/* owned; leases a pooled connection on use */
	struct upstream *up;	/* owned; this thread's curl handle */
	void *fcgx;		/* owned; FCGX_Request */
	volatile sig_atomic_t idle;	/* waiting in FCGX_Accept_r */
	struct worker *next;	/* the server's list of running workers */
};

/* Open the listening socket described by spec ("" = spawned, fd 0;
 * "unix:/path", "tcp:host:port", "host:port", ":port"). Returns the fd, or -1
 * with a message in err. */
int server_listen(const char *spec, char *err, size_t errlen);

/* Serve fd with nworkers threads waiting (more on demand, up to MAX_WORKERS)
 * until SIGTERM/SIGINT/SIGUSR1, then let in-flight requests finish and return
 * 0 (or -1 if nothing could start). */
int server_run(int fd, int nworkers, const char *db_path);

/* Handle one accepted exchange (fcgi/http.c). */
void http_serve(struct worker *w);

#endif
