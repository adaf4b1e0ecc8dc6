/* routstr.fcgi: the FastCGI program. Loads and checks the settings, opens
 * and migrates the database (refusing to serve if that fails), then runs the
 * worker threads until the web server or an operator stops it. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin_auth.h"
#include "handlers/admin_view.h"
#include "conf.h"
#include "db.h"
#include "funds.h"
#include "ledger.h"
#include "log.h"
#include "providers.h"
#include "server.h"
#include "settings.h"
#include "upstream.h"
#include "util.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: routstr.fcgi [-c config] [-s socket] [-w workers]\n"
	    "  -c FILE    key=value settings file (also ROUTSTR_CONFIG)\n"
	    "  -s SOCKET  listen on unix:/path, tcp:127.0.0.1:PORT or :PORT instead of fd 0\n"
	    "  -w N       worker threads (1 under mod_fcgid)\n"
	    "  -V         print the version\n");
}

/* Before serving, finish what a process that died left (docs/money.md):
 * settle the reservations of dead owners by what they recorded as relayed,
 * credit stored receipts to their beneficiaries, and revert withdrawals that
 * made no token. Nothing here waits on a mint: operations still open at a
 * mint are left to `routstrctl cron` and to the next request that presents
 * the same token or asks for the same refund. */
static void
recover_at_start(struct db *db)
{
	struct funds_ctx fc = { db, NULL, "startup" };
	struct funds_recover_stats st;
	struct ledger_sweep_result sw;

	if (ledger_sweep(db, NULL, &sw) == RERR_OK && sw.swept > 0)
		log_info("startup: swept %d reservation(s) of dead processes, %lld msat charged",
		    sw.swept, (long long)sw.charged);
	if (funds_recover(&fc, true, &st) != 0 || st.credited || st.withdrawals_done ||
	    st.withdrawals_reverted)
		log_info("startup: recovery credited %d receipt(s), finished %d withdrawal(s), "
		    "reverted %d, %d left for cron", st.credited, st.withdrawals_done,
		    st.withdrawals_reverted, st.withdrawals_left);
}

int
main(int argc, char **argv)
{
	const char *cfgpath = NULL, *sock = NULL, *workers = NULL;
	struct conf *c;
	struct db *db = NULL;
	char err[1024], *path = NULL;
	int opt, fd, applied = 0, rc = 1;

	while ((opt = getopt(argc, argv, "c:s:w:hV")) != -1) {
		switch (opt) {
		case 'c': cfgpath = optarg; break;
		case 's': sock = optarg; break;
		case 'w': workers = optarg; break;
		case 'V': printf("routstr.fcgi %s\n", ROUTSTR_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	c = conf_load(cfgpath, err, sizeof(err));
	if (c == NULL) {
		fprintf(stderr, "routstr.fcgi: %s\n", err);
		return 78;	/* EX_CONFIG */
	}
	if ((sock && conf_set(c, CONF_LISTEN, sock, err, sizeof(err)) < 0) ||
	    (workers && conf_set(c, CONF_WORKERS, workers, err, sizeof(err)) < 0)) {
		fprintf(stderr, "routstr.fcgi: %s\n", err);
		return 78;
	}
	conf_set_global(c);
	if (log_open(conf_str(c, CONF_LOG_FILE), log_level_parse(conf_str(c, CONF_LOG_LEVEL))) < 0) {
		fprintf(stderr, "routstr.fcgi: cannot open log %s\n", conf_str(c, CONF_LOG_FILE));
		return 78;
	}
	path = db_path_from_url(conf_str(c, CONF_DATABASE_URL));
	if (path == NULL) {
		log_error("DATABASE_URL %s: only sqlite:/// URLs are supported",
		    conf_str(c, CONF_DATABASE_URL));
		goto out;
	}
	if (db_open(path, (enum db_sync)conf_int(c, CONF_DB_SYNCHRONOUS), &db) != RERR_OK)
		goto out;
	if (db_migrate(db, db_migrations, db_migrations_count, &applied, err, sizeof(err)) != RERR_OK) {
		log_error("refusing to serve: %s", err);
		goto out;
	}
	if (applied)
		log_info("applied %d migration%s to %s", applied, applied == 1 ? "" : "s", path);
	/* The dashboard's saved settings, over the file and the environment. */
	if (settings_apply(db, c) != RERR_OK)
		log_error("cannot read the dashboard's settings");
	/* UPSTREAM_BASE_URL is the simple case of the providers table. */
	if (providers_seed_env(db, c) != RERR_OK)
		log_error("cannot seed the provider of UPSTREAM_BASE_URL");
	recover_at_start(db);
	/* The dashboard: a template error stops the program here, not a
	 * user's page. A node without a password gets one shown once, on a
	 * terminal only: under a web server stderr is a log file on disk,
	 * where a password must not go (routstrctl migrate shows it). */
	if (admin_view_init() != 0)
		goto out;
	if (isatty(STDERR_FILENO)) {
		char pw[ADMIN_GENERATED_SIZE];

		if (admin_password_init(db, wall_sec(), pw) == 1)
			fprintf(stderr, "routstr: no dashboard password was set; generated one, shown "
			    "only now: %s\nroutstr: log in at <your URL>/admin/ and change it, or run "
			    "routstrctl set-password\n", pw);
	} else if (admin_password_check(db, "", NULL) == RERR_NOT_FOUND) {
		log_warn("no dashboard password is set: run routstrctl migrate (it shows a generated "
		    "one once) or routstrctl set-password");
	}
	db_close(db);
	db = NULL;

	fd = server_listen(conf_str(c, CONF_LISTEN), err, sizeof(err));
	if (fd < 0) {
		log_error("%s", err);
		goto out;
	}
	upstream_global_init();
	rc = server_run(fd, (int)conf_int(c, CONF_WORKERS), path) == 0 ? 0 : 1;
	upstream_global_cleanup();
out:
	db_close(db);
	free(path);
	conf_set_global(NULL);
	conf_free(c);
	return rc;
}
