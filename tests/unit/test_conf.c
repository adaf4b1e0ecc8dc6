/* Check suite for lib/conf: defaults, file parsing, env overrides, typed and
 * range-checked values, errors naming file:line. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "testlib.h"

static char path[64];

static void
write_file(const char *text)
{
	int fd;
	FILE *f;

	strcpy(path, "/tmp/test_conf_XXXXXX"); /* lint-ok: fixed literal into a sized array */
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
}

static void
clear_env(void)
{
	int k;

	for (k = 0; k < CONF__MAX; k++)
		unsetenv(conf_defs[k].env);
	unsetenv("ROUTSTR_CONFIG");
	unsetenv("MODEL_BASED_PRICING");
}

START_TEST(defaults)
{
	char err[256];
	struct conf *c;
	size_t n;

	clear_env();
	c = conf_load(NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(conf_int(c, CONF_WORKERS), 4);
	ck_assert_int_eq(conf_int(c, CONF_MAX_BODY_BYTES), 16 * 1024 * 1024);
	ck_assert_str_eq(conf_str(c, CONF_NAME), "ARoutstrNode");
	ck_assert_int_eq(conf_int(c, CONF_EXCHANGE_FEE), 1005000);
	ck_assert_int_eq(conf_bool(c, CONF_FIXED_PRICING), 0);
	conf_list(c, CONF_CASHU_MINTS, &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(conf_source(c, CONF_NAME), "default");
	ck_assert_str_eq(conf_str(c, CONF_ROOT_PATH), "");
	conf_free(c);
	setenv("ROOT_PATH", "/~alice/routstr", 1);
	c = conf_load(NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(conf_str(c, CONF_ROOT_PATH), "/~alice/routstr");
	conf_free(c);
	clear_env();
}
END_TEST

START_TEST(file_and_env)
{
	char err[256];
	struct conf *c;
	const char *const *mints;
	size_t n;

	clear_env();
	write_file("# comment\n\nname = My Node\nworkers=8\n"
	    "cashu_mints = https://a.example , ,https://b.example\n"
	    "upstream_base_url = \"http://127.0.0.1:9/v1\"\nexchange_fee = 1.25\n");
	setenv("NAME", "From Env", 1);
	c = conf_load(path, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_str_eq(conf_str(c, CONF_NAME), "From Env");
	ck_assert_str_eq(conf_source(c, CONF_NAME), "env");
	ck_assert_int_eq(conf_int(c, CONF_WORKERS), 8);
	ck_assert_str_eq(conf_source(c, CONF_WORKERS), "file");
	mints = conf_list(c, CONF_CASHU_MINTS, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(mints[0], "https://a.example");
	ck_assert_str_eq(mints[1], "https://b.example");
	ck_assert_str_eq(conf_str(c, CONF_PRIMARY_MINT_URL), "https://a.example");
	ck_assert_str_eq(conf_str(c, CONF_UPSTREAM_BASE_URL), "http://127.0.0.1:9/v1");
	ck_assert_int_eq(conf_int(c, CONF_EXCHANGE_FEE), 1250000);
	conf_free(c);
	unlink(path);
	clear_env();
}
END_TEST

START_TEST(errors_name_file_and_line)
{
	char err[256], want[128];
	struct conf *c;

	clear_env();
	write_file("name = x\nworkers = 0\n");
	c = conf_load(path, err, sizeof(err));
	ck_assert_ptr_null(c);
	snprintf(want, sizeof(want), "%s:2:", path);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "got: %s", err);
	unlink(path);

	write_file("bogus_key = 1\n");
	ck_assert_ptr_null(conf_load(path, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, ":1: unknown setting 'bogus_key'"));
	unlink(path);

	write_file("no equals sign here\n");
	ck_assert_ptr_null(conf_load(path, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, ":1: expected key = value"));
	unlink(path);

	ck_assert_ptr_null(conf_load("/nonexistent/routstr.conf", err, sizeof(err)));
}
END_TEST

START_TEST(env_values_are_checked)
{
	static const struct { const char *env, *value; } bad[] = {
		{ "WORKERS", "abc" }, { "WORKERS", "4x" }, { "WORKERS", "-1" }, { "WORKERS", "" },
		{ "WORKERS", "99999999999999999999999" }, { "MAX_BODY_BYTES", "12" },
		{ "FIXED_PRICING", "maybe" }, { "EXCHANGE_FEE", "1.0000001" },
		{ "EXCHANGE_FEE", "0.5" }, { "EXCHANGE_FEE", "1e3" }, { "DB_SYNCHRONOUS", "sometimes" },
		{ "UPSTREAM_BASE_URL", "ftp://x" }, { "ROOT_PATH", "~alice/routstr" },
		{ "ROOT_PATH", "/~alice/routstr/" }, { "ROOT_PATH", "/a/../b" }, { "ROOT_PATH", "//" },
	};
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		clear_env();
		setenv(bad[i].env, bad[i].value, 1);
		ck_assert_msg(conf_load(NULL, err, sizeof(err)) == NULL, "%s=%s accepted",
		    bad[i].env, bad[i].value);
		ck_assert_msg(strncmp(err, bad[i].env, strlen(bad[i].env)) == 0, "err: %s", err);
	}
	clear_env();
}
END_TEST

START_TEST(legacy_alias)
{
	char err[256];
	struct conf *c;

	clear_env();
	setenv("MODEL_BASED_PRICING", "false", 1);
	c = conf_load(NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(conf_bool(c, CONF_FIXED_PRICING), 1);
	conf_free(c);
	setenv("FIXED_PRICING", "false", 1);
	c = conf_load(NULL, err, sizeof(err));
	ck_assert_int_eq(conf_bool(c, CONF_FIXED_PRICING), 0);
	conf_free(c);
	clear_env();
}
END_TEST

Suite *
suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, file_and_env);
	tcase_add_test(tc, errors_name_file_and_line);
	tcase_add_test(tc, env_values_are_checked);
	tcase_add_test(tc, legacy_alias);
	suite_add_tcase(s, tc);
	return s;
}
