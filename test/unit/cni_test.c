/* cni_test: tug-cni as a runtime meets it without a network: the conflist it is given,
 * VERSION, STATUS, and the spec's error object for each kind of bad request. The verbs
 * that touch the kernel are tested in test/e2e/cni.sh, inside network namespaces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <netinet/in.h>

#include "net/cni/cni-internal.h"

static char tmp[64];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	snprintf(tmp, sizeof(tmp), "/tmp/tug-cni-unit-XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

struct run {
	int status; /* cni_main's exit status */
	cJSON *out; /* NULL when stdout was empty */
	char text[8192];
};

/*
 * Runs cni_main as a runtime runs the plugin: env is "K=V" strings (the CNI_* variables
 * start unset), in goes to stdin, stdout comes back parsed. In this process, with fds 0
 * and 1 pointed at files for the call: fork is not available under qemu-user here.
 */
static void run(struct run *r, const char *const *env, const char *in)
{
	const char *vars[] = { "CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS",
		               "CNI_IFNAME",  "CNI_ARGS",        "CNI_PATH" };
	char inpath[128], outpath[128];
	int saved_in = dup(0), saved_out = dup(1);

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < ARRAY_SIZE(vars); i++)
		unsetenv(vars[i]);
	for (; env && *env; env++) {
		char *kv = xstrdup(*env), *eq = strchr(kv, '=');
		*eq = '\0';
		setenv(kv, eq + 1, 1);
		free(kv);
	}
	snprintf(inpath, sizeof(inpath), "%s/stdin", tmp);
	snprintf(outpath, sizeof(outpath), "%s/stdout", tmp);
	assert_int_equal(write_file_atomic(inpath, in ? in : "", in ? strlen(in) : 0, 0600), 0);
	int fin = open(inpath, O_RDONLY | O_CLOEXEC);
	int fout = open(outpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fin >= 0 && fout >= 0 && saved_in >= 0 && saved_out >= 0);
	fflush(stdout);
	dup2(fin, 0);
	dup2(fout, 1);
	char *argv[] = { "tug-cni", NULL };
	r->status = cni_main(1, argv);
	fflush(stdout);
	dup2(saved_in, 0);
	dup2(saved_out, 1);
	close(fin);
	close(fout);
	close(saved_in);
	close(saved_out);
	char *text = NULL;
	size_t n = 0;
	assert_int_equal(read_file(outpath, &text, &n, sizeof(r->text) - 1), 0);
	memcpy(r->text, text, n + 1);
	free(text);
	r->out = n ? cJSON_Parse(r->text) : NULL;
	if (n && !r->out)
		fail_msg("stdout is not JSON: %s", r->text);
}

static int exit_code(const struct run *r)
{
	return r->status;
}

/* Asserts the run failed with the spec's error object carrying code, and details that
 * mention `mention`. */
static void assert_error(struct run *r, int code, const char *mention)
{
	assert_int_equal(exit_code(r), 1);
	assert_non_null(r->out);
	const cJSON *c = cJSON_GetObjectItem(r->out, "code");
	const cJSON *msg = cJSON_GetObjectItem(r->out, "msg");
	const cJSON *det = cJSON_GetObjectItem(r->out, "details");
	assert_true(cJSON_IsString(cJSON_GetObjectItem(r->out, "cniVersion")));
	assert_true(cJSON_IsNumber(c));
	if (c->valueint != code)
		fail_msg("want code %d, got %s", code, r->text);
	assert_true(cJSON_IsString(msg) && msg->valuestring[0]);
	assert_true(cJSON_IsString(det));
	if (mention && !strstr(det->valuestring, mention))
		fail_msg("details should mention '%s': %s", mention, r->text);
	cJSON_Delete(r->out);
}

static char *conf(const char *version, const char *ranges)
{
	return xasprintf("{\"cniVersion\":\"%s\",\"name\":\"tcniunit\",\"type\":\"tug-cni\","
	                 "\"bridge\":\"tcniu0\",\"dataDir\":\"%s/data\",\"ranges\":%s}",
	                 version, tmp, ranges);
}

static void test_version_lists_every_spoken_version(void **state)
{
	struct run r;
	const char *env[] = { "CNI_COMMAND=VERSION", NULL };
	run(&r, env, "{\"cniVersion\":\"1.0.0\"}");
	assert_int_equal(exit_code(&r), 0);
	assert_string_equal(cJSON_GetObjectItem(r.out, "cniVersion")->valuestring, "1.0.0");
	char *list = cJSON_PrintUnformatted(cJSON_GetObjectItem(r.out, "supportedVersions"));
	assert_string_equal(list, "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]");
	free(list);
	cJSON_Delete(r.out);
	/* Without input it names the newest. */
	run(&r, env, "");
	assert_int_equal(exit_code(&r), 0);
	assert_string_equal(cJSON_GetObjectItem(r.out, "cniVersion")->valuestring, "1.1.0");
	cJSON_Delete(r.out);
}

static void test_missing_or_unknown_command_is_an_environment_error(void **state)
{
	struct run r;
	run(&r, NULL, "{}");
	assert_error(&r, 4, "CNI_COMMAND");
	const char *env[] = { "CNI_COMMAND=FROB", NULL };
	run(&r, env, "{}");
	assert_error(&r, 4, "FROB");
}

static void test_add_names_each_missing_variable(void **state)
{
	struct run r;
	char *c = conf("1.0.0", "[{\"subnet\":\"10.250.0.0/24\"}]");
	const char *env[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=abc", NULL };
	run(&r, env, c);
	assert_error(&r, 4, "CNI_IFNAME, CNI_NETNS");
	const char *env2[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=-bad", "CNI_IFNAME=eth0",
		               "CNI_NETNS=/run/netns/x", NULL };
	run(&r, env2, c);
	assert_error(&r, 4, "CNI_CONTAINERID");
	const char *env3[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=abc",
		               "CNI_IFNAME=this-name-is-too-long", "CNI_NETNS=/run/netns/x", NULL };
	run(&r, env3, c);
	assert_error(&r, 4, "CNI_IFNAME");
	/* DEL may come without a namespace. */
	const char *env4[] = { "CNI_COMMAND=DEL", "CNI_CONTAINERID=abc", NULL };
	run(&r, env4, c);
	assert_error(&r, 4, "CNI_IFNAME");
	free(c);
}

static void test_bad_configurations_get_the_spec_codes(void **state)
{
	const char *env[] = { "CNI_COMMAND=STATUS", NULL };
	struct run r;
	char *c;

	run(&r, env, "{not json");
	assert_error(&r, 6, "not JSON");
	run(&r, env, "");
	assert_error(&r, 6, NULL);
	run(&r, env, "[1,2]");
	assert_error(&r, 7, "JSON object");
	run(&r, env, "{\"name\":\"x\"}");
	assert_error(&r, 7, "cniVersion");
	c = conf("9.9.9", "[{\"subnet\":\"10.250.0.0/24\"}]");
	run(&r, env, c);
	assert_error(&r, 1, "9.9.9");
	free(c);
	c = conf("1.1.0", "[]");
	run(&r, env, c);
	assert_error(&r, 7, "ranges");
	free(c);
	c = conf("1.1.0", "[{\"subnet\":\"10.250.0.1/24\"}]");
	run(&r, env, c);
	assert_error(&r, 7, "10.250.0.1/24");
	free(c);
	c = conf("1.1.0", "[{\"subnet\":\"10.250.0.0/31\"}]");
	run(&r, env, c);
	assert_error(&r, 7, "too small");
	free(c);
	c = conf("1.1.0", "[{\"subnet\":\"10.250.0.0/24\"},{\"subnet\":\"10.250.1.0/24\"}]");
	run(&r, env, c);
	assert_error(&r, 7, "same family");
	free(c);
	c = conf("1.1.0", "[{\"subnet\":\"10.250.0.0/24\",\"gateway\":\"10.250.9.1\"}]");
	run(&r, env, c);
	assert_error(&r, 7, "10.250.9.1");
	free(c);
	run(&r, env,
	    "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"mtu\":\"big\",\"ranges\":[{\"subnet\":"
	    "\"10.250.0.0/24\"}]}");
	assert_error(&r, 7, "mtu");
	run(&r, env,
	    "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"bridge\":\"a/b\",\"ranges\":[{\"subnet\":"
	    "\"10.250.0.0/24\"}]}");
	assert_error(&r, 7, "bridge");
	run(&r, env,
	    "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"ipam\":{\"type\":\"host-local\"},"
	    "\"ranges\":[{\"subnet\":\"10.250.0.0/24\"}]}");
	assert_error(&r, 2, "host-local");
}

static void test_newer_verbs_need_a_newer_version(void **state)
{
	struct run r;
	char *c = conf("1.0.0", "[{\"subnet\":\"10.250.0.0/24\"}]");
	const char *env[] = { "CNI_COMMAND=STATUS", NULL };
	run(&r, env, c);
	assert_error(&r, 1, "1.1.0");
	free(c);
	c = conf("0.3.1", "[{\"subnet\":\"10.250.0.0/24\"}]");
	const char *env2[] = { "CNI_COMMAND=CHECK", "CNI_CONTAINERID=abc", "CNI_IFNAME=eth0",
		               "CNI_NETNS=/run/netns/x", NULL };
	run(&r, env2, c);
	assert_error(&r, 1, "0.4.0");
	free(c);
}

static void test_add_into_a_missing_namespace_is_an_unknown_container(void **state)
{
	struct run r;
	char *c = conf("1.0.0", "[{\"subnet\":\"10.250.0.0/24\"}]");
	char ns[128];
	snprintf(ns, sizeof(ns), "CNI_NETNS=%s/no-such-netns", tmp);
	const char *env[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=abc", "CNI_IFNAME=eth0", ns,
		              NULL };
	run(&r, env, c);
	assert_error(&r, 3, "no-such-netns");
	/* A file that is not a namespace is refused as well, before anything is made. */
	snprintf(ns, sizeof(ns), "CNI_NETNS=%s", tmp);
	run(&r, env, c);
	assert_error(&r, 3, "not a network namespace");
	free(c);
}

static void test_status_reports_a_full_range_as_unavailable(void **state)
{
	struct run r;
	const char *env[] = { "CNI_COMMAND=STATUS", NULL };
	char *c = conf("1.1.0", "[{\"subnet\":\"10.250.0.0/30\"}]");
	run(&r, env, c);
	assert_int_equal(exit_code(&r), 0);
	assert_null(r.out);
	/* One lease fills a /30 (network, gateway and last address are reserved). */
	char path[128], *boot = NULL;
	snprintf(path, sizeof(path), "%s/data/tcniunit/leases", tmp);
	assert_int_equal(read_file("/proc/sys/kernel/random/boot_id", &boot, NULL, 0), 0);
	boot[strcspn(boot, "\n")] = '\0';
	char *text = xasprintf("tug-ipam 1\nboot %s\nlease 10.250.0.2 abc eth0\n", boot);
	assert_int_equal(write_file_atomic(path, text, strlen(text), 0600), 0);
	run(&r, env, c);
	assert_error(&r, 50, "10.250.0.0/30");
	free(text);
	free(boot);
	free(c);
}

static void test_written_conflist_is_one_the_plugin_accepts(void **state)
{
	struct cni_net_conf nc = {
		.name = "tcniunit",
		.pod_cidrs = { "10.250.3.0/24", "fd00:250::3:0/112" },
		.n_pod_cidrs = 2,
		.mtu = 1450,
		.hairpin = true,
		.ip_masq = true,
		.cluster_cidrs = { "10.250.0.0/16" },
		.n_cluster_cidrs = 1,
		.dns_servers = { "10.43.0.10" },
		.n_dns_servers = 1,
	};
	char dir[128], path[160], datadir[128], *text = NULL;
	struct err e = { 0 };
	snprintf(dir, sizeof(dir), "%s/net.d", tmp);
	snprintf(datadir, sizeof(datadir), "%s/data", tmp);
	nc.data_dir = datadir;
	assert_int_equal(cni_write_conflist(dir, &nc, &e), 0);
	snprintf(path, sizeof(path), "%s/10-tcniunit.conflist", dir);
	assert_int_equal(read_file(path, &text, NULL, 0), 0);
	cJSON *list = cJSON_Parse(text);
	assert_non_null(list);
	assert_string_equal(cJSON_GetObjectItem(list, "name")->valuestring, "tcniunit");
	cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItem(list, "plugins"), 0);
	assert_string_equal(cJSON_GetObjectItem(p, "type")->valuestring, "tug-cni");
	assert_string_equal(cJSON_GetObjectItem(p, "bridge")->valuestring, "tug0");
	assert_int_equal(cJSON_GetObjectItem(p, "mtu")->valueint, 1450);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(p, "hairpinMode")));
	/* so that the runtime passes each pod's hostPorts */
	assert_true(cJSON_IsTrue(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(p, "capabilities"), "portMappings")));

	/* What the runtime hands the plugin: the plugin object, with version and name. */
	cJSON_AddStringToObject(p, "cniVersion", "1.1.0");
	cJSON_AddStringToObject(p, "name", "tcniunit");
	char *pc = cJSON_PrintUnformatted(p);
	struct run r;
	const char *env[] = { "CNI_COMMAND=STATUS", NULL };
	run(&r, env, pc);
	if (exit_code(&r) != 0)
		fail_msg("STATUS on the written conf failed: %s", r.text);
	free(pc);
	cJSON_Delete(list);
	free(text);
}

static void test_conflist_with_a_bad_cidr_is_not_written(void **state)
{
	struct cni_net_conf nc = { .pod_cidrs = { "10.250.3.0/40" }, .n_pod_cidrs = 1 };
	char dir[128], path[160];
	struct err e = { 0 };
	snprintf(dir, sizeof(dir), "%s/net.d", tmp);
	assert_int_equal(cni_write_conflist(dir, &nc, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "10.250.3.0/40"));
	snprintf(path, sizeof(path), "%s/10-tug.conflist", dir);
	assert_int_equal(access(path, F_OK), -1);
}

/* The configuration with runtimeConfig.portMappings set to `maps` (JSON text). */
static char *conf_ports(const char *maps)
{
	return xasprintf(
	    "{\"cniVersion\":\"1.0.0\",\"name\":\"tcniunit\",\"type\":\"tug-cni\","
	    "\"bridge\":\"tcniu0\",\"dataDir\":\"%s/data\",\"ranges\":"
	    "[{\"subnet\":\"10.250.0.0/24\"}],\"runtimeConfig\":{\"portMappings\":%s}}",
	    tmp, maps);
}

static void test_port_mappings_are_parsed_in_any_case_with_optional_host_ip(void **state)
{
	struct cni_conf c;
	struct cni_error ce = { 0 };
	struct ipaddr want;
	char *text = conf_ports("[{\"hostPort\":8080,\"containerPort\":80,\"protocol\":\"tcp\"},"
	                        "{\"hostPort\":53,\"containerPort\":5353,\"protocol\":\"UDP\","
	                        "\"hostIP\":\"192.0.2.7\"},"
	                        "{\"hostPort\":9000,\"containerPort\":9000,\"protocol\":\"Sctp\","
	                        "\"hostIP\":\"0.0.0.0\"},"
	                        "{\"hostPort\":8081,\"containerPort\":81},"
	                        /* containerd's go-cni capitalizes the names */
	                        "{\"HostPort\":8082,\"ContainerPort\":82,\"Protocol\":\"udp\","
	                        "\"HostIP\":\"\"},"
	                        "{\"hostPort\":8080,\"containerPort\":80,\"protocol\":\"TCP\"}]");

	if (cni_conf_parse(text, &c, &ce) < 0)
		fail_msg("parse failed: %s", ce.e.msg);
	assert_true(c.has_ports);
	/* the same mapping twice counts once */
	assert_int_equal(c.n_ports, 5);
	assert_int_equal(c.ports[0].proto, IPPROTO_TCP);
	assert_int_equal(c.ports[0].host_port, 8080);
	assert_int_equal(c.ports[0].container_port, 80);
	assert_int_equal(c.ports[0].host_ip.family, 0);
	assert_int_equal(c.ports[1].proto, IPPROTO_UDP);
	assert_int_equal(ipaddr_parse("192.0.2.7", &want), 0);
	assert_true(ipaddr_equal(&c.ports[1].host_ip, &want));
	assert_int_equal(c.ports[2].proto, IPPROTO_SCTP);
	assert_int_equal(c.ports[2].host_ip.family, 0);  /* 0.0.0.0: every address */
	assert_int_equal(c.ports[3].proto, IPPROTO_TCP); /* the default */
	assert_int_equal(c.ports[4].host_port, 8082);
	assert_int_equal(c.ports[4].container_port, 82);
	assert_int_equal(c.ports[4].proto, IPPROTO_UDP);
	assert_int_equal(c.ports[4].host_ip.family, 0);
	cni_conf_free(&c);
	free(text);

	/* none given: no hostPorts, and DEL falls back on ADD's record alone */
	text = conf("1.0.0", "[{\"subnet\":\"10.250.0.0/24\"}]");
	assert_int_equal(cni_conf_parse(text, &c, &ce), 0);
	assert_false(c.has_ports);
	assert_int_equal(c.n_ports, 0);
	cni_conf_free(&c);
	free(text);
}

static void test_bad_port_mappings_are_invalid_configuration(void **state)
{
	static const struct {
		const char *maps, *mention;
	} cases[] = {
		{ "{\"hostPort\":80}", "portMappings must be a list" },
		{ "[\"80:80\"]", "portMappings[0]: each entry must be an object" },
		{ "[{\"containerPort\":80}]", "portMappings[0]: hostPort must be a port number" },
		{ "[{\"hostPort\":0,\"containerPort\":80}]", "hostPort must be a port number" },
		{ "[{\"hostPort\":80,\"containerPort\":65536}]", "containerPort must be a port" },
		{ "[{\"hostPort\":80.5,\"containerPort\":80}]", "hostPort must be a port number" },
		{ "[{\"hostPort\":\"80\",\"containerPort\":80}]",
		  "hostPort must be a port number" },
		{ "[{\"hostPort\":80,\"containerPort\":80,\"protocol\":\"icmp\"}]",
		  "protocol 'icmp' is not tcp, udp or sctp" },
		{ "[{\"hostPort\":80,\"containerPort\":80,\"protocol\":7}]",
		  "protocol must be a string" },
		{ "[{\"hostPort\":80,\"containerPort\":80,\"hostIP\":\"nope\"}]",
		  "hostIP 'nope' is not an IP address" },
		{ "[{\"hostPort\":80,\"containerPort\":80},{\"hostPort\":80,\"containerPort\":81}]",
		  "portMappings[1]: hostPort 80/tcp is listed twice" },
	};
	char ns[128];
	snprintf(ns, sizeof(ns), "CNI_NETNS=%s/no-such-netns", tmp);
	const char *env[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=abc", "CNI_IFNAME=eth0", ns,
		              NULL };
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct run r;
		char *text = conf_ports(cases[i].maps);
		run(&r, env, text);
		assert_error(&r, 7, cases[i].mention);
		free(text);
	}
	/* runtimeConfig itself must be an object */
	char *text = conf("1.0.0", "[{\"subnet\":\"10.250.0.0/24\"}],\"runtimeConfig\":[]");
	struct run r;
	run(&r, env, text);
	assert_error(&r, 7, "runtimeConfig must be an object");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_lists_every_spoken_version),
		cmocka_unit_test(test_missing_or_unknown_command_is_an_environment_error),
		cmocka_unit_test(test_add_names_each_missing_variable),
		cmocka_unit_test(test_bad_configurations_get_the_spec_codes),
		cmocka_unit_test(test_newer_verbs_need_a_newer_version),
		cmocka_unit_test(test_add_into_a_missing_namespace_is_an_unknown_container),
		cmocka_unit_test(test_status_reports_a_full_range_as_unavailable),
		cmocka_unit_test(test_written_conflist_is_one_the_plugin_accepts),
		cmocka_unit_test(test_conflist_with_a_bad_cidr_is_not_written),
		cmocka_unit_test(test_port_mappings_are_parsed_in_any_case_with_optional_host_ip),
		cmocka_unit_test(test_bad_port_mappings_are_invalid_configuration),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
