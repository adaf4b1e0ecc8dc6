/* server: the process — listening socket, worker threads, shutdown. Each
 * worker thread owns one struct worker for its whole life: its FastCGI
 * request, its SQLite connection and its reused curl handle. */
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
	struct db *db;		/* owned; this thread's connection */
	struct upstream *up;	/* owned; this thread's curl handle */
	void *fcgx;		/* owned; FCGX_Request */
	volatile sig_atomic_t idle;	/* waiting in FCGX_Accept_r */
};

/* Open the listening socket described by spec ("" = spawned, fd 0;
 * "unix:/path", "tcp:host:port", "host:port", ":port"). Returns the fd, or -1
 * with a message in err. */
int server_listen(const char *spec, char *err, size_t errlen);

/* Run nworkers threads accepting on fd until SIGTERM/SIGINT/SIGUSR1, then let
 * in-flight requests finish and return 0 (or -1 if nothing could start). */
int server_run(int fd, int nworkers, const char *db_path);

/* Handle one accepted exchange (fcgi/http.c). */
void http_serve(struct worker *w);

#endif
