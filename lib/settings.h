/* settings: the settings the operator saved in the dashboard
 * (table settings, versioned by migrations/0014_settings.sql), the last layer over defaults, the file and
 * the environment. Saving bumps a version; every process checks it at most
 * once a second (settings_refresh, called per request) and, when it moved,
 * builds a fresh conf from the file, the environment and these rows and
 * installs it for the next requests.
 *
 * Who owns what: the rows are the truth; each process owns its conf copies
 * (lib/conf.c keeps retired ones alive); callers borrow the db. */
#ifndef ROUTSTR_SETTINGS_H
#define ROUTSTR_SETTINGS_H

#include <stddef.h>

#include "conf.h"
#include "db.h"
#include "err.h"

/* Apply the saved settings to c (start-up, before threads; or a fresh copy)
 * and record their version in it. A row that no longer validates is
 * skipped with a warning. */
enum rerr settings_apply(struct db *db, struct conf *c);

/* Save value for the setting named env (e.g. "NAME"), checked as the file
 * would check it; value NULL removes the override. RERR_INVALID with why
 * (a bad value, or a setting that cannot change at run time). Installs the
 * new settings in this process at once. */
enum rerr settings_save(struct db *db, const char *env, const char *value, char *why, size_t n);

/* Install the saved settings in this process if they changed since its
 * conf was built; reads the version at most once a second. */
void settings_refresh(struct db *db);

#endif
