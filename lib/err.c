/* err: see err.h. */
#include "config.h"

#include "err.h"

static const char *const names[RERR__MAX] = {
	[RERR_OK] = "ok",
	[RERR_INVALID] = "invalid",
	[RERR_TOO_LARGE] = "too_large",
	[RERR_NOT_FOUND] = "not_found",
	[RERR_CONFLICT] = "conflict",
	[RERR_DB] = "db",
	[RERR_IO] = "io",
	[RERR_UPSTREAM] = "upstream",
	[RERR_TIMEOUT] = "timeout",
	[RERR_INTERNAL] = "internal",
};

const char *
rerr_name(enum rerr e)
{
	return (unsigned)e < RERR__MAX ? names[e] : "unknown";
}
