/* A stand-in for libFuzzer's main() where clang is not available: replays
 * every file (or every file in every directory) named on the command line
 * through LLVMFuzzerTestOneInput, then, with -t SECONDS, keeps mutating the
 * corpus at random (bit flips, byte sets, truncation, splices) until the time
 * is up. Deterministic for a given -s SEED. Prints what it ran. */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DRIVER_FILE_MAX (1u << 20)
#define DRIVER_CORPUS_MAX 4096u

struct input {
	uint8_t *data;
	size_t len;
};

static struct input corpus[DRIVER_CORPUS_MAX];
static size_t ncorpus;

/* Read a regular file of at most DRIVER_FILE_MAX bytes into the corpus. */
static int
driver_load_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	buf = xmalloc(DRIVER_FILE_MAX);
	n = fread(buf, 1, DRIVER_FILE_MAX, f);
	fclose(f);
	if (ncorpus >= DRIVER_CORPUS_MAX) {
		free(buf);
		return 0;
	}
	corpus[ncorpus].data = buf;
	corpus[ncorpus].len = n;
	ncorpus++;
	return 0;
}

/* A file or the regular files directly inside a directory. */
static int
driver_load(const char *path)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (stat(path, &st) != 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return driver_load_file(path);
	d = opendir(path);
	if (d == NULL) {
		perror(path);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char *p;

		if (de->d_name[0] == '.')
			continue;
		p = xasprintf("%s/%s", path, de->d_name);
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && driver_load_file(p) != 0)
			rc = -1;
		free(p);
	}
	closedir(d);
	return rc;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* One random mutation of a random corpus entry into buf (cap bytes). */
static size_t
driver_mutate(uint8_t *buf, size_t cap)
{
	const struct input *in = &corpus[rng() % ncorpus];
	size_t n = in->len < cap ? in->len : cap, k, rounds = 1 + rng() % 4;

	memcpy(buf, in->data, n);
	for (k = 0; k < rounds; k++) {
		switch (rng() % 5) {
		case 0:	/* flip a bit */
			if (n)
				buf[rng() % n] ^= (uint8_t)(1u << (rng() % 8));
			break;
		case 1:	/* set a byte to an interesting value */
			if (n) {
				static const uint8_t v[] = { 0x00, 0xff, 0x7f, 0x80, 0x9f, 0xbf,
					0x1b, 0x5f, 0x7f, 'A', '=', '-', '_', '/', '+' };

				buf[rng() % n] = v[rng() % sizeof(v)];
			}
			break;
		case 2:	/* truncate */
			if (n)
				n = rng() % n;
			break;
		case 3:	/* splice the tail of another entry */
		{
			const struct input *o = &corpus[rng() % ncorpus];
			size_t at = n ? rng() % n : 0, from = o->len ? rng() % o->len : 0;
			size_t m = o->len - from;

			if (m > cap - at)
				m = cap - at;
			memcpy(buf + at, o->data + from, m);
			n = at + m;
			break;
		}
		default:	/* duplicate a slice */
			if (n > 1 && n < cap) {
				size_t at = rng() % n, m = 1 + rng() % (n - at);

				if (m > cap - n)
					m = cap - n;
				memmove(buf + at + m, buf + at, n - at);
				n += m;
			}
			break;
		}
	}
	return n;
}

int
main(int argc, char **argv)
{
	int64_t seconds = 0, start;
	uint64_t runs = 0;
	uint8_t *buf;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
			if (parse_i64(argv[++i], 0, 86400, &seconds) != 0) {
				fprintf(stderr, "driver: bad -t\n");
				return 2;
			}
		} else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
			uint64_t s;

			if (parse_u64(argv[++i], UINT64_MAX, &s) != 0 || s == 0) {
				fprintf(stderr, "driver: bad -s\n");
				return 2;
			}
			rng_state = s;
		} else if (driver_load(argv[i]) != 0)
			return 2;
	}
	if (ncorpus == 0) {
		fprintf(stderr, "usage: %s [-t seconds] [-s seed] corpus-dir-or-file...\n", argv[0]);
		return 2;
	}
	for (i = 0; i < (int)ncorpus; i++)
		LLVMFuzzerTestOneInput(corpus[i].data, corpus[i].len);
	printf("driver: replayed %zu corpus inputs\n", ncorpus);
	start = mono_usec();
	buf = xmalloc(65536);
	while (seconds > 0 && mono_usec() - start < seconds * 1000000) {
		int k;

		for (k = 0; k < 256; k++) {
			size_t n = driver_mutate(buf, 65536);

			LLVMFuzzerTestOneInput(buf, n);
			runs++;
		}
	}
	if (seconds > 0) {
		int64_t us = mono_usec() - start;

		printf("driver: %llu mutated runs in %lld s (%lld exec/s)\n",
		    (unsigned long long)runs, (long long)(us / 1000000),
		    (long long)(us > 0 ? (int64_t)runs * 1000000 / us : 0));
	}
	free(buf);
	for (i = 0; i < (int)ncorpus; i++)
		free(corpus[i].data);
	return 0;
}
