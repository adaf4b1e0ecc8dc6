/* router: see router.h. */
#include "config.h"

#include <string.h>

#include "router.h"

const struct route *
router_match(const struct route *table, size_t n, const char *path, enum http_method m,
    int *method_mismatch)
{
	size_t i;

	*method_mismatch = 0;
	for (i = 0; i < n; i++) {
		const struct route *rt = &table[i];
		size_t len = strlen(rt->path);
		int hit;

		if (rt->match == MATCH_EXACT)
			hit = strcmp(path, rt->path) == 0;
		else
			hit = strncmp(path, rt->path, len) == 0;
		if (!hit)
			continue;
		if (rt->match == MATCH_FALLBACK) {
			/* Only for paths no earlier route knows, and only for
			 * its methods: others are a plain 404, not a 405. */
			if (*method_mismatch == 0 && (rt->methods & HTTP_M(m)))
				return rt;
			continue;
		}
		if (rt->methods & HTTP_M(m))
			return rt;
		*method_mismatch = 1;
	}
	return NULL;
}

unsigned
router_allowed(const struct route *table, size_t n, const char *path)
{
	unsigned m = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		size_t len = strlen(table[i].path);

		if (table[i].match != MATCH_FALLBACK && (table[i].match == MATCH_EXACT ?
		    strcmp(path, table[i].path) == 0 : strncmp(path, table[i].path, len) == 0))
			m |= table[i].methods;
	}
	return m;
}
