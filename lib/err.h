/* err: the project-wide error enum. 0 is success; handlers map these to HTTP
 * statuses in one place (fcgi/http.c: http_status_of). */
#ifndef ROUTSTR_ERR_H
#define ROUTSTR_ERR_H

enum rerr {
	RERR_OK = 0,
	RERR_INVALID,		/* bad input */
	RERR_TOO_LARGE,		/* over a configured cap */
	RERR_NOT_FOUND,
	RERR_CONFLICT,		/* state changed under us, or already done */
	RERR_DB,		/* SQLite failed */
	RERR_IO,		/* local I/O */
	RERR_UPSTREAM,		/* a peer (AI upstream, mint) failed or is unreachable */
	RERR_TIMEOUT,
	RERR_INTERNAL,
	RERR__MAX
};

/* A short stable name for logs ("invalid", "db", ...). Static storage. */
const char *rerr_name(enum rerr e);

#endif
