/* cli/cmd_admin: see cmd_admin.h. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "admin_auth.h"
#include "cli.h"
#include "cmd_admin.h"
#include "db.h"
#include "util.h"

/* One line from stdin into buf (size bytes: the longest password, its line
 * end and a NUL), without the line end; on a terminal, prompted and not
 * echoed. 0, or -1 with the reason printed. A line too long for buf is an
 * error, never cut short. */
static int
read_password(char *buf, size_t size)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	size_t n;
	int rc = -1;

	if (tty) {
		fputs("New admin password: ", stderr);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	if (fgets(buf, (int)size, stdin) == NULL) {
		fprintf(stderr, "routstrctl: set-password: no password on stdin\n");
		goto out;
	}
	n = strcspn(buf, "\r\n");
	if (buf[n] == '\0' && !feof(stdin)) {
		fprintf(stderr, "routstrctl: set-password: longer than %d bytes\n", ADMIN_PASSWORD_MAX);
		goto out;
	}
	buf[n] = '\0';
	rc = 0;
out:
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	return rc;
}

int
cli_set_password(int argc, char **argv)
{
	char line[ADMIN_PASSWORD_MAX + 2], gen[ADMIN_GENERATED_SIZE];
	bool generate = argc == 2 && strcmp(argv[1], "--generate") == 0;
	struct db *db = NULL;
	enum rerr e;
	int rc = 1;

	if (argc > 2 || (argc == 2 && !generate)) {
		fprintf(stderr, "usage: routstrctl set-password [--generate]\n"
		    "Reads the new dashboard password (%d to %d bytes) as one line from stdin;\n"
		    "--generate makes one and prints it. Either way every session ends.\n",
		    ADMIN_PASSWORD_MIN, ADMIN_PASSWORD_MAX);
		return 2;
	}
	if (generate)
		admin_password_generate(gen);
	else if (read_password(line, sizeof(line)) < 0)
		goto out;
	if ((db = cli_open_db()) == NULL)
		goto out;
	e = admin_password_set(db, generate ? gen : line, wall_sec());
	if (e == RERR_INVALID) {
		fprintf(stderr, "routstrctl: set-password: a password has %d to %d bytes\n",
		    ADMIN_PASSWORD_MIN, ADMIN_PASSWORD_MAX);
		goto out;
	}
	if (e != RERR_OK) {
		fprintf(stderr, "routstrctl: set-password: %s\n", rerr_name(e));
		goto out;
	}
	if (generate)
		printf("%s\n", gen);
	fprintf(stderr, "routstrctl: admin password set; every dashboard session ended\n");
	rc = 0;
out:
	db_close(db);
	OPENSSL_cleanse(line, sizeof(line));
	OPENSSL_cleanse(gen, sizeof(gen));
	return rc;
}

static int
token_usage(void)
{
	fprintf(stderr,
	    "usage: routstrctl admin-token create [--name NAME]\n"
	    "       routstrctl admin-token list\n"
	    "       routstrctl admin-token revoke ID\n"
	    "A token opens the admin API (Authorization: Bearer rsa_...) like a login.\n"
	    "create prints it once: only its SHA-256 is kept.\n");
	return 2;
}

/* A time for the list: UTC, "-" for never. */
static void
fmt_time(int64_t t, char out[24])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL || strftime(out, 24, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		snprintf(out, 24, "-");
}

static int
token_list(struct db *db)
{
	struct admin_token *v = NULL;
	char created[24], used[24];
	size_t i, n = 0;

	if (admin_token_list(db, &v, &n) != RERR_OK) {
		fprintf(stderr, "routstrctl: admin-token list: database error\n");
		return 1;
	}
	printf("%-6s %-20s %-20s %s\n", "id", "created", "last_used", "name");
	for (i = 0; i < n; i++) {
		fmt_time(v[i].created_at, created);
		fmt_time(v[i].last_used, used);
		printf("%-6lld %-20s %-20s %s\n", (long long)v[i].id, created, used, v[i].name);
	}
	free(v);
	return 0;
}

int
cli_admin_token(int argc, char **argv)
{
	char tok[ADMIN_TOKEN_LEN + 1];
	const char *sub = argc >= 2 ? argv[1] : "", *name = NULL;
	struct db *db;
	int64_t id = 0;
	enum rerr e;
	int rc = 1;

	if (strcmp(sub, "create") == 0 && argc == 4 && strcmp(argv[2], "--name") == 0)
		name = argv[3];
	else if (!(strcmp(sub, "create") == 0 && argc == 2) &&
	    !(strcmp(sub, "list") == 0 && argc == 2) &&
	    !(strcmp(sub, "revoke") == 0 && argc == 3 && parse_i64(argv[2], 1, INT64_MAX, &id) == 0))
		return token_usage();
	if ((db = cli_open_db()) == NULL)
		return 1;
	if (strcmp(sub, "list") == 0) {
		rc = token_list(db);
	} else if (strcmp(sub, "revoke") == 0) {
		e = admin_token_revoke(db, id);
		if (e == RERR_OK)
			rc = 0;
		else
			fprintf(stderr, "routstrctl: admin-token revoke %lld: %s\n", (long long)id,
			    e == RERR_NOT_FOUND ? "no such token" : rerr_name(e));
	} else {
		e = admin_token_create(db, name, wall_sec(), tok, &id);
		if (e == RERR_OK) {
			printf("%s\n", tok);
			fprintf(stderr, "routstrctl: admin token %lld created; it is shown only now\n",
			    (long long)id);
			rc = 0;
		} else {
			if (e == RERR_INVALID)
				fprintf(stderr, "routstrctl: admin-token create: a name has at most %d"
				    " bytes of printable UTF-8\n", ADMIN_TOKEN_NAME_MAX);
			else
				fprintf(stderr, "routstrctl: admin-token create: %s\n", rerr_name(e));
		}
		OPENSSL_cleanse(tok, sizeof(tok));
	}
	db_close(db);
	return rc;
}
