/* cmd_provider: the operator's view of lib/providers (until the dashboard
 * has a page for it). Changes take effect at every process's next request:
 * they bump the catalogue's version. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_provider.h"
#include "db.h"
#include "providers.h"
#include "util.h"

static int
usage(void)
{
	fprintf(stderr,
	    "usage: routstrctl provider list\n"
	    "       routstrctl provider add SLUG TYPE BASE_URL [-k API_KEY|-] [-f FEE_PPM] [-p PRIORITY]\n"
	    "       routstrctl provider map SLUG MODEL [-u UPSTREAM_ID] [-p PRIORITY]\n"
	    "       routstrctl provider enable|disable|remove SLUG\n"
	    "TYPE is openai, openrouter, anthropic or generic. A provider with no map\n"
	    "rows serves every model; one with rows serves only those. FEE_PPM is a\n"
	    "multiplier in millionths (1050000 = 1.05). -k - reads the key from stdin\n"
	    "(so it stays out of ps and the shell's history).\n");
	return 2;
}

static int
list(struct db *db)
{
	struct providers *ps = providers_current(db);
	size_t i;

	if (ps == NULL)
		return 1;
	printf("%-16s %-10s %8s %8s %-7s %s\n", "slug", "type", "priority", "fee_ppm", "models",
	    "base_url");
	for (i = 0; i < providers_count(ps); i++) {
		const struct provider *p = providers_at(ps, i);

		printf("%-16s %-10s %8lld %8lld %-7s %s\n", p->slug, p->type,
		    (long long)p->priority, (long long)p->fee_ppm, p->has_models ? "listed" : "all",
		    p->base_url);
	}
	providers_release(ps);
	return 0;
}

static int
done(enum rerr e, const char *what, const char *slug)
{
	if (e == RERR_OK)
		return 0;
	fprintf(stderr, "routstrctl: provider %s %s: %s\n", what, slug,
	    e == RERR_NOT_FOUND ? "no such provider" : e == RERR_CONFLICT ?
	    "refused (a provider of that slug exists, or a value is out of range)" : rerr_name(e));
	return 1;
}

int
cli_provider(int argc, char **argv)
{
	const char *key = NULL, *uid = NULL, *sub;
	int64_t fee = -1, prio = 0;
	struct db *db;
	int opt, rc;

	if (argc < 2)
		return usage();
	sub = argv[1];
	optind = 1;
	argc--;
	argv++;
	/* options after the positional arguments */
	if (strcmp(sub, "add") == 0 || strcmp(sub, "map") == 0) {
		int npos = strcmp(sub, "add") == 0 ? 4 : 3;

		if (argc < npos)
			return usage();
		optind = npos;
		while ((opt = getopt(argc, argv, "k:f:p:u:")) != -1) {
			switch (opt) {
			case 'k': key = optarg; break;
			case 'u': uid = optarg; break;
			case 'f':
				/* a multiplier in millionths: 1050000 = 1.05 */
				if (parse_i64(optarg, 1000000, 1000000000, &fee) < 0)
					return usage();
				break;
			case 'p':
				if (parse_i64(optarg, -1000000, 1000000, &prio) < 0)
					return usage();
				break;
			default: return usage();
			}
		}
		if (optind != argc)
			return usage();
	}
	if (key != NULL && strcmp(key, "-") == 0) {
		static char line[1024];

		if (fgets(line, sizeof(line), stdin) == NULL)
			return usage();
		line[strcspn(line, "\r\n")] = '\0';
		key = line;
	}
	if ((db = cli_open_db()) == NULL)
		return 1;
	if (strcmp(sub, "list") == 0)
		rc = list(db);
	else if (strcmp(sub, "add") == 0)
		rc = done(providers_add(db, argv[1], argv[2], argv[3], key, fee, prio), "add", argv[1]);
	else if (strcmp(sub, "map") == 0)
		rc = done(providers_map(db, argv[1], argv[2], uid, prio), "map", argv[1]);
	else if (argc == 2 && strcmp(sub, "enable") == 0)
		rc = done(providers_set_enabled(db, argv[1], true), "enable", argv[1]);
	else if (argc == 2 && strcmp(sub, "disable") == 0)
		rc = done(providers_set_enabled(db, argv[1], false), "disable", argv[1]);
	else if (argc == 2 && strcmp(sub, "remove") == 0)
		rc = done(providers_remove(db, argv[1]), "remove", argv[1]);
	else
		rc = usage();
	db_close(db);
	return rc;
}
