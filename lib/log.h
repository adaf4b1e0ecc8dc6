/* log: one line per event to stderr or a file, every line passed through the
 * redactor first. Lines are written with a single write(2) on an O_APPEND
 * descriptor, so concurrent threads and processes never interleave. */
#ifndef ROUTSTR_LOG_H
#define ROUTSTR_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_LEVEL__MAX };

/* Open the log: path NULL or "" means stderr. Returns 0 or -1 (errno set). */
int log_open(const char *path, enum log_level level);
/* Parse Routstr's LOG_LEVEL names (TRACE, DEBUG, INFO, WARNING, ERROR,
 * CRITICAL; case-insensitive); unknown names give LOG_INFO, as Routstr. */
enum log_level log_level_parse(const char *name);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* The access line: request id, method, path, status, bytes sent, duration,
 * and free-form extra fields ("model=x tokens=3", may be NULL). */
void log_request(const char *rid, const char *method, const char *path, int status,
    uint64_t bytes, int64_t dur_us, const char *extra);

/* Copy in to a fresh string with secrets masked: bearer credentials, sk- keys,
 * Cashu tokens (cashuA/cashuB...), nsec keys, and key=value pairs whose key
 * names a secret (authorization, x-cashu, api_key, token, password, ...).
 * The caller frees the result. */
char *log_redact(const char *in);

/* Copy in to a fresh string with every control character (C0 and DEL) and
 * the backslash written as \xNN, so one event stays one line whatever a
 * client put in its path or headers. The caller frees the result. */
char *log_escape(const char *in);

#endif
