/* config_test: flags, the YAML file, precedence, and the messages bad input gets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/config/config.h"

static char path[256];

static void write_yaml(const char *text)
{
	snprintf(path, sizeof(path), "/tmp/tug-config-test-%d.yaml", (int)getpid());
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int load(struct tug_config *c, unsigned cmd, struct err *e, int argc, char **argv)
{
	bool help = false;
	config_defaults(c);
	int rc = config_load(c, cmd, argc, argv, &help, e);
	if (rc == 0)
		rc = config_validate(c, cmd, e);
	return rc;
}

static void test_defaults_follow_k3s(void **state)
{
	struct tug_config c;
	struct err e = { 0 };
	char *argv[] = { "--config", "/dev/null" };
	assert_int_equal(load(&c, CFG_SERVER, &e, 2, argv), 0);
	assert_string_equal(c.data_dir, "/var/lib/tug");
	assert_string_equal(c.cluster_cidr, "10.42.0.0/16");
	assert_string_equal(c.service_cidr, "10.43.0.0/16");
	assert_int_equal(c.https_listen_port, 6443);
	assert_int_equal(c.node_lease_ms, 10000);
	assert_int_equal(c.node_monitor_period_ms, 5000);
	assert_int_equal(c.node_monitor_grace_ms, 40000);
	config_free(&c);
}

static void test_flags_win_over_the_file(void **state)
{
	struct tug_config c;
	struct err e = { 0 };
	write_yaml("data-dir: /srv/tug\nhttps-listen-port: 7443\nnode-label:\n  - a=1\n  - b=2\n"
	           "debug: true\n");
	char *argv[] = { "--config", path, "--https-listen-port=8443", "--node-label", "c=3" };
	assert_int_equal(load(&c, CFG_SERVER, &e, 5, argv), 0);
	assert_string_equal(c.data_dir, "/srv/tug");
	assert_int_equal(c.https_listen_port, 8443);
	assert_int_equal(c.node_label.n, 1);
	assert_string_equal(c.node_label.v[0], "c=3");
	assert_true(c.debug);
	config_free(&c);
}

static void test_repeated_flags_make_a_list(void **state)
{
	struct tug_config c;
	struct err e = { 0 };
	char *argv[] = { "--config",  "/dev/null",          "--tls-san",
		         "a.example", "--tls-san=10.0.0.1", "--no-debug" };
	assert_int_equal(load(&c, CFG_SERVER, &e, 6, argv), 0);
	assert_int_equal(c.tls_san.n, 2);
	assert_string_equal(c.tls_san.v[1], "10.0.0.1");
	assert_false(c.debug);
	config_free(&c);
}

static void test_unknown_key_in_file_names_the_line(void **state)
{
	struct tug_config c;
	struct err e = { 0 };
	write_yaml("data-dir: /srv\nfoo-bar: 1\n");
	char *argv[] = { "--config", path };
	assert_int_equal(load(&c, CFG_SERVER, &e, 2, argv), -EINVAL);
	assert_non_null(strstr(e.msg, ":2: unknown option 'foo-bar'"));
	config_free(&c);
}

static void test_bad_values_get_clear_messages(void **state)
{
	struct tug_config c;
	struct err e = { 0 };
	char *a1[] = { "--config", "/dev/null", "--https-listen-port", "70000" };
	assert_int_equal(load(&c, CFG_SERVER, &e, 4, a1), -EINVAL);
	assert_non_null(strstr(e.msg, "--https-listen-port: 70000 is not a port"));
	config_free(&c);
	char *a2[] = { "--config", "/dev/null", "--cluster-cidr", "10.42.0.0/33" };
	assert_int_equal(load(&c, CFG_SERVER, &e, 4, a2), -EINVAL);
	assert_non_null(strstr(e.msg, "--cluster-cidr"));
	config_free(&c);
	/* dual stack: one CIDR of each family, and no more */
	static const char *const cidrs[][2] = { { "10.42.0.0/16,fd42::/56", "ok" },
		                                { "fd42::/56,10.42.0.0/16", "ok" },
		                                { "10.42.0.0/16,10.43.0.0/16", NULL },
		                                { "10.42.0.0/16,fd42::/56,fd43::/56", NULL },
		                                { "10.42.0.0/16,", NULL } };
	for (size_t i = 0; i < ARRAY_SIZE(cidrs); i++) {
		char *a[] = { "--config", "/dev/null", "--cluster-cidr", (char *)cidrs[i][0] };
		assert_int_equal(load(&c, CFG_SERVER, &e, 4, a), cidrs[i][1] ? 0 : -EINVAL);
		if (cidrs[i][1])
			assert_string_equal(c.cluster_cidr, cidrs[i][0]);
		else
			assert_non_null(strstr(e.msg, "dual stack"));
		config_free(&c);
	}
	char *a3[] = { "--config", "/dev/null", "--node-lease-interval", "soon" };
	assert_int_equal(load(&c, CFG_SERVER, &e, 4, a3), -EINVAL);
	assert_non_null(strstr(e.msg, "not a duration"));
	config_free(&c);
	char *a4[] = { "--config", "/dev/null", "--bogus" };
	assert_int_equal(load(&c, CFG_SERVER, &e, 3, a4), -EINVAL);
	assert_non_null(strstr(e.msg, "unknown flag --bogus"));
	config_free(&c);
	char *a5[] = { "--config", "/dev/null", "--node-name", "Bad_Name" };
	assert_int_equal(load(&c, CFG_SERVER, &e, 4, a5), -EINVAL);
	config_free(&c);
	char *a6[] = { "--config", "/dev/null", "--data-dir" };
	assert_int_equal(load(&c, CFG_SERVER, &e, 3, a6), -EINVAL);
	assert_non_null(strstr(e.msg, "needs a value"));
	config_free(&c);
	char *a7[] = { "--config", "/dev/null", "--server", "https://x:6443" };
	assert_int_equal(load(&c, CFG_SERVER, &e, 4, a7), -EINVAL);
	assert_non_null(strstr(e.msg, "does not apply"));
	config_free(&c);
	char *a8[] = { "--config",
		       "/dev/null",
		       "--node-monitor-period",
		       "5s",
		       "--node-monitor-grace-period",
		       "2s" };
	assert_int_equal(load(&c, CFG_SERVER, &e, 6, a8), -EINVAL);
	assert_non_null(strstr(e.msg, "--node-monitor-grace-period"));
	config_free(&c);
}

static void test_malformed_yaml_is_an_error_not_a_crash(void **state)
{
	struct tug_config c;
	struct err e = { 0 };
	static const char *const bad[] = {
		"data-dir: [unclosed\n",       "- just\n- a list\n", "data-dir:\n  nested: map\n",
		"https-listen-port: [1, 2]\n", "\"\t: :\n",          "a: &x 1\nb: *x\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_yaml(bad[i]);
		char *argv[] = { "--config", path };
		assert_int_equal(load(&c, CFG_SERVER, &e, 2, argv), -EINVAL);
		assert_true(strlen(e.msg) > 0);
		config_free(&c);
	}
	char *argv[] = { "--config", "/nonexistent/config.yaml" };
	assert_int_equal(load(&c, CFG_SERVER, &e, 2, argv), -ENOENT);
	config_free(&c);
}

static void test_agent_needs_server_and_token(void **state)
{
	struct tug_config c;
	struct err e = { 0 };
	char *a1[] = { "--config", "/dev/null" };
	assert_int_equal(load(&c, CFG_AGENT, &e, 2, a1), -EINVAL);
	assert_non_null(strstr(e.msg, "--server"));
	config_free(&c);
	char *a2[] = { "--config", "/dev/null", "-s", "https://gw:6443", "-t", "K10abc::x.y" };
	assert_int_equal(load(&c, CFG_AGENT, &e, 6, a2), 0);
	config_free(&c);
}

static int teardown(void **state)
{
	unlink(path);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_follow_k3s),
		cmocka_unit_test(test_flags_win_over_the_file),
		cmocka_unit_test(test_repeated_flags_make_a_list),
		cmocka_unit_test(test_unknown_key_in_file_names_the_line),
		cmocka_unit_test(test_bad_values_get_clear_messages),
		cmocka_unit_test(test_malformed_yaml_is_an_error_not_a_crash),
		cmocka_unit_test(test_agent_needs_server_and_token),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
