/* routstrctl: the command-line tool for the operator and for cron. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_admin.h"
#include "cmd_cashu.h"
#include "cmd_money.h"
#include "cmd_provider.h"
#include "admin_auth.h"
#include "conf.h"
#include "settings.h"
#include "db.h"
#include "log.h"
#include "util.h"

struct db *
cli_open_db(void)
{
	const struct conf *c = conf_get();
	char *path = db_path_from_url(conf_str(c, CONF_DATABASE_URL));
	struct db *db = NULL;
	char err[1024];
	int applied = 0;

	if (path == NULL) {
		fprintf(stderr, "routstrctl: DATABASE_URL %s is not a sqlite:/// URL\n",
		    conf_str(c, CONF_DATABASE_URL));
		return NULL;
	}
	if (db_open(path, (enum db_sync)conf_int(c, CONF_DB_SYNCHRONOUS), &db) != RERR_OK) {
		fprintf(stderr, "routstrctl: cannot open %s\n", path);
		free(path);
		return NULL;
	}
	if (db_migrate(db, db_migrations, db_migrations_count, &applied, err, sizeof(err)) != RERR_OK) {
		fprintf(stderr, "routstrctl: %s\n", err);
		db_close(db);
		free(path);
		return NULL;
	}
	free(path);
	/* The operator's dashboard settings are the last layer, for cron and
	 * every command as for the program. */
	settings_refresh(db);
	return db;
}

/* migrate: apply pending migrations and print the schema version. */
static int
cmd_migrate(int argc, char **argv)
{
	const struct conf *c = conf_get();
	char *path = db_path_from_url(conf_str(c, CONF_DATABASE_URL));
	struct db *db = NULL;
	char err[1024];
	int applied = 0, rc = 1;

	(void)argc; (void)argv;
	if (path == NULL) {
		fprintf(stderr, "routstrctl: DATABASE_URL is not a sqlite:/// URL\n");
		return 1;
	}
	if (db_open(path, (enum db_sync)conf_int(c, CONF_DB_SYNCHRONOUS), &db) != RERR_OK)
		goto out;
	if (db_migrate(db, db_migrations, db_migrations_count, &applied, err, sizeof(err)) != RERR_OK) {
		fprintf(stderr, "routstrctl: %s\n", err);
		goto out;
	}
	printf("%s: applied %d migration(s); schema version %d\n", path, applied,
	    db_schema_version(db));
	{
		char pw[ADMIN_GENERATED_SIZE];

		/* First setup: the dashboard's password, shown once, here. */
		if (admin_password_init(db, wall_sec(), pw) == 1)
			printf("dashboard password (shown only now; change it with routstrctl "
			    "set-password): %s\n", pw);
	}
	rc = 0;
out:
	db_close(db);
	free(path);
	return rc;
}

/* config: every setting with its value and where it came from (secrets masked). */
static int
cmd_config(int argc, char **argv)
{
	const struct conf *c = conf_get();
	int k;

	(void)argc; (void)argv;
	for (k = 0; k < CONF__MAX; k++) {
		const char *v = conf_str(c, (enum conf_key)k);
		bool secret = strstr(conf_defs[k].env, "KEY") != NULL && *v;

		printf("%-32s %-8s %s\n", conf_defs[k].env, conf_source(c, (enum conf_key)k),
		    secret ? "[REDACTED]" : v);
	}
	return 0;
}

static int cmd_help(int argc, char **argv);

static const struct cli_command commands[] = {
	{ "migrate", cmd_migrate, "apply database migrations" },
	{ "config", cmd_config, "print the effective settings and their sources" },
	{ "audit", cli_audit, "check balances against the journal and the wallet (exit 1 if off)" },
	{ "cron", cli_cron, "periodic jobs under leases ([--force] [--list] [JOB...]; --list names them)" },
	{ "decode-token", cli_decode_token, "print a Cashu token as JSON (no network)" },
	{ "wallet", cli_wallet, "wallet totals per mint and unit; 'wallet recover'" },
	{ "earnings", cli_earnings, "the operator's earnings per mint and unit (wallet less what users are owed)" },
	{ "withdraw", cli_withdraw, "pay earnings over Lightning: BOLT11|ADDRESS|LNURL [--sats N] [--mint URL]" },
	{ "provider", cli_provider, "upstream providers: list, add, map, enable, disable, remove" },
	{ "set-password", cli_set_password, "set the dashboard password (one line of stdin, or --generate); ends every session" },
	{ "admin-token", cli_admin_token, "bearer tokens for the admin API: create [--name N], list, revoke ID" },
	{ "help", cmd_help, "list the commands" },
};

static int
cmd_help(int argc, char **argv)
{
	size_t i;

	(void)argc; (void)argv;
	printf("usage: routstrctl [-c config] COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		printf("  %-14s %s\n", commands[i].name, commands[i].help);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *cfgpath = NULL;
	struct conf *c;
	char err[1024];
	size_t i;
	int opt, rc;

	while ((opt = getopt(argc, argv, "+c:hV")) != -1) {
		switch (opt) {
		case 'c': cfgpath = optarg; break;
		case 'V': printf("routstrctl %s\n", ROUTSTR_VERSION); return 0;
		case 'h': return cmd_help(0, NULL);
		default: cmd_help(0, NULL); return 2;
		}
	}
	if (optind >= argc) {
		cmd_help(0, NULL);
		return 2;
	}
	c = conf_load(cfgpath, err, sizeof(err));
	if (c == NULL) {
		fprintf(stderr, "routstrctl: %s\n", err);
		return 78;
	}
	conf_set_global(c);
	log_open(NULL, log_level_parse(conf_str(c, CONF_LOG_LEVEL)));
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			rc = commands[i].run(argc - optind, argv + optind);
			conf_free(c);
			return rc;
		}
	}
	fprintf(stderr, "routstrctl: unknown command '%s' (try help)\n", argv[optind]);
	conf_free(c);
	return 2;
}
