/* ipam_test: leasing pod addresses: reserved addresses, reuse, exhaustion, restarts,
 * reboots, garbage collection, and several processes allocating at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "net/ipam/ipam.h"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

struct fixture {
	char dir[64];
	struct ipam_range r[IPAM_MAX_RANGES];
	size_t n;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/tug-cni-ipam-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void add_range(struct fixture *f, const char *cidr, const char *gw)
{
	struct ipam_range *r = &f->r[f->n++];
	memset(r, 0, sizeof(*r));
	assert_int_equal(ipaddr_net_parse(cidr, &r->subnet, true), 0);
	if (gw)
		assert_int_equal(ipaddr_parse(gw, &r->gateway), 0);
}

static struct ipam *open_with_boot(struct fixture *f, const char *boot)
{
	struct ipam_opts o = { .dir = f->dir, .ranges = f->r, .n_ranges = f->n, .boot_id = boot };
	struct ipam *p = NULL;
	struct err e = { 0 };
	int rc = ipam_open(&p, &o, &e);
	if (rc < 0)
		fail_msg("ipam_open: %s", e.msg);
	return p;
}

static struct ipam *open_ipam(struct fixture *f)
{
	return open_with_boot(f, "boot-1");
}

static const char *alloc_str(struct ipam *p, const char *id, char *s)
{
	struct ipaddr a[IPAM_MAX_RANGES];
	struct err e = { 0 };
	if (ipam_alloc(p, id, "eth0", a, NULL, &e) < 0)
		return NULL;
	return ipaddr_str(&a[0], s);
}

static void test_leases_skip_network_gateway_and_last_address(void **state)
{
	struct fixture *f = *state;
	char s[IPADDR_STRLEN], id[16];
	add_range(f, "10.250.0.0/29", NULL);
	struct ipam *p = open_ipam(f);
	const char *want[] = { "10.250.0.2", "10.250.0.3", "10.250.0.4", "10.250.0.5",
		               "10.250.0.6" };
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		const char *got = alloc_str(p, id, s);
		assert_non_null(got);
		assert_string_equal(got, want[i]);
	}
	struct ipaddr a[1];
	struct err e = { 0 };
	assert_int_equal(ipam_alloc(p, "c9", "eth0", a, NULL, &e), -ENOSPC);
	assert_non_null(strstr(e.msg, "10.250.0.0/29"));
	ipam_close(p);
}

static void test_same_owner_gets_the_same_address_again(void **state)
{
	struct fixture *f = *state;
	char s1[IPADDR_STRLEN], s2[IPADDR_STRLEN];
	add_range(f, "10.250.0.0/24", NULL);
	struct ipam *p = open_ipam(f);
	struct ipaddr a1[1], a2[1];
	bool fresh = false;
	assert_int_equal(ipam_alloc(p, "c1", "eth0", a1, &fresh, NULL), 0);
	assert_true(fresh);
	assert_int_equal(ipam_alloc(p, "c1", "eth0", a2, &fresh, NULL), 0);
	assert_false(fresh);
	assert_string_equal(ipaddr_str(&a1[0], s1), ipaddr_str(&a2[0], s2));
	/* Another interface of the same container is another attachment. */
	struct ipaddr a[1];
	assert_int_equal(ipam_alloc(p, "c1", "net1", a, NULL, NULL), 0);
	assert_string_not_equal(ipaddr_str(&a[0], s2), s1);
	ipam_close(p);
}

static void test_released_address_is_not_reused_at_once(void **state)
{
	struct fixture *f = *state;
	char s[IPADDR_STRLEN];
	add_range(f, "10.250.0.0/29", NULL);
	struct ipam *p = open_ipam(f);
	assert_string_equal(alloc_str(p, "a", s), "10.250.0.2");
	assert_int_equal(ipam_release(p, "a", "eth0", NULL), 0);
	assert_string_equal(alloc_str(p, "b", s), "10.250.0.3");
	/* Releasing what is not held is fine: DEL runs more than once. */
	assert_int_equal(ipam_release(p, "a", "eth0", NULL), 0);
	assert_int_equal(ipam_release(p, "nobody", "eth0", NULL), 0);
	/* Round the range: .4 .5 .6, then .2 again. */
	assert_string_equal(alloc_str(p, "c", s), "10.250.0.4");
	assert_string_equal(alloc_str(p, "d", s), "10.250.0.5");
	assert_string_equal(alloc_str(p, "e", s), "10.250.0.6");
	assert_string_equal(alloc_str(p, "f", s), "10.250.0.2");
	ipam_close(p);
}

static void test_full_range_in_dual_stack_keeps_nothing(void **state)
{
	struct fixture *f = *state;
	add_range(f, "10.250.0.0/30", NULL);
	add_range(f, "fd00:250::/112", NULL);
	struct ipam *p = open_ipam(f);
	struct ipaddr a[2], got[2];
	char s[IPADDR_STRLEN];
	assert_int_equal(ipam_alloc(p, "a", "eth0", a, NULL, NULL), 0);
	assert_string_equal(ipaddr_str(&a[0], s), "10.250.0.2");
	assert_string_equal(ipaddr_str(&a[1], s), "fd00:250::2");
	assert_int_equal(ipam_alloc(p, "b", "eth0", a, NULL, NULL), -ENOSPC);
	assert_int_equal(ipam_lookup(p, "b", "eth0", got, NULL), 0);
	assert_int_equal(got[0].family, 0);
	assert_int_equal(got[1].family, 0);
	uint64_t avail[2];
	assert_int_equal(ipam_available(p, avail, NULL), 0);
	assert_int_equal(avail[0], 0);
	assert_true(avail[1] > 60000);
	ipam_close(p);
}

static void test_leases_survive_a_restart(void **state)
{
	struct fixture *f = *state;
	char s[IPADDR_STRLEN];
	add_range(f, "fd00:250::/64", NULL);
	struct ipam *p = open_ipam(f);
	assert_string_equal(alloc_str(p, "a", s), "fd00:250::2");
	assert_string_equal(alloc_str(p, "b", s), "fd00:250::3");
	ipam_close(p);
	p = open_ipam(f);
	struct ipaddr got[1];
	assert_int_equal(ipam_lookup(p, "a", "eth0", got, NULL), 0);
	assert_string_equal(ipaddr_str(&got[0], s), "fd00:250::2");
	assert_string_equal(alloc_str(p, "c", s), "fd00:250::4");
	uint64_t avail[1];
	assert_int_equal(ipam_available(p, avail, NULL), 0);
	assert_true(avail[0] == UINT64_MAX);
	ipam_close(p);
}

static void test_leases_from_another_boot_are_dropped(void **state)
{
	struct fixture *f = *state;
	char s[IPADDR_STRLEN];
	add_range(f, "10.250.0.0/24", NULL);
	struct ipam *p = open_with_boot(f, "boot-1");
	assert_string_equal(alloc_str(p, "a", s), "10.250.0.2");
	ipam_close(p);
	p = open_with_boot(f, "boot-2");
	struct ipaddr got[1];
	assert_int_equal(ipam_lookup(p, "a", "eth0", got, NULL), 0);
	assert_int_equal(got[0].family, 0);
	assert_string_equal(alloc_str(p, "b", s), "10.250.0.2");
	ipam_close(p);
}

static void test_gc_releases_all_but_the_valid(void **state)
{
	struct fixture *f = *state;
	char s[IPADDR_STRLEN];
	add_range(f, "10.250.0.0/24", NULL);
	struct ipam *p = open_ipam(f);
	assert_non_null(alloc_str(p, "a", s));
	assert_non_null(alloc_str(p, "b", s));
	assert_non_null(alloc_str(p, "c", s));
	struct ipam_owner keep[] = { { "b", "eth0" }, { "zz", "eth0" } };
	size_t released = 0;
	assert_int_equal(ipam_gc(p, keep, 2, &released, NULL), 0);
	assert_int_equal(released, 2);
	struct ipaddr got[1];
	assert_int_equal(ipam_lookup(p, "b", "eth0", got, NULL), 0);
	assert_int_equal(got[0].family, AF_INET);
	assert_int_equal(ipam_lookup(p, "a", "eth0", got, NULL), 0);
	assert_int_equal(got[0].family, 0);
	ipam_close(p);
}

static void test_ranges_too_small_or_with_a_bad_gateway_are_refused(void **state)
{
	struct ipam_range r = { 0 };
	struct err e = { 0 };
	char s[IPADDR_STRLEN];
	ipaddr_net_parse("10.250.0.0/31", &r.subnet, true);
	assert_int_equal(ipam_range_check(&r, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "too small"));
	ipaddr_net_parse("fd00:250::/127", &r.subnet, true);
	assert_int_equal(ipam_range_check(&r, &e), -EINVAL);
	ipaddr_net_parse("10.250.0.0/24", &r.subnet, true);
	ipaddr_parse("10.250.1.1", &r.gateway);
	assert_int_equal(ipam_range_check(&r, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "not a host address"));
	ipaddr_parse("10.250.0.255", &r.gateway);
	assert_int_equal(ipam_range_check(&r, &e), -EINVAL);
	ipaddr_parse("10.250.0.0", &r.gateway);
	assert_int_equal(ipam_range_check(&r, &e), -EINVAL);
	memset(&r.gateway, 0, sizeof(r.gateway));
	assert_int_equal(ipam_range_check(&r, &e), 0);
	assert_string_equal(ipaddr_str(&r.gateway, s), "10.250.0.1");
}

static void test_explicit_gateway_is_never_leased(void **state)
{
	struct fixture *f = *state;
	char s[IPADDR_STRLEN];
	add_range(f, "10.250.0.0/30", "10.250.0.2");
	struct ipam *p = open_ipam(f);
	assert_string_equal(alloc_str(p, "a", s), "10.250.0.1");
	assert_null(alloc_str(p, "b", s));
	ipam_close(p);
}

static void test_bad_lines_in_the_lease_file_are_skipped(void **state)
{
	struct fixture *f = *state;
	char path[128], s[IPADDR_STRLEN];
	add_range(f, "10.250.0.0/24", NULL);
	snprintf(path, sizeof(path), "%s/leases", f->dir);
	const char *text = "tug-ipam 1\nboot boot-1\nlease 10.250.0.2 a eth0\ngarbage here\n"
	                   "lease not-an-ip b eth0\nlease 10.250.0.3\n";
	assert_int_equal(write_file_atomic(path, text, strlen(text), 0600), 0);
	struct ipam *p = open_ipam(f);
	assert_string_equal(alloc_str(p, "c", s), "10.250.0.3");
	struct ipaddr got[1];
	assert_int_equal(ipam_lookup(p, "a", "eth0", got, NULL), 0);
	assert_string_equal(ipaddr_str(&got[0], s), "10.250.0.2");
	ipam_close(p);
}

/* A write cut short (a killed plugin) leaves a line without its newline. */
static void test_a_torn_last_record_is_ignored_and_the_next_starts_afresh(void **state)
{
	struct fixture *f = *state;
	char path[128], s[IPADDR_STRLEN];
	add_range(f, "10.250.0.0/24", NULL);
	snprintf(path, sizeof(path), "%s/leases", f->dir);
	const char *text =
	    "tug-ipam 2\nboot boot-1\nlease 10.250.0.2 a eth0\nlease 10.250.0.3 b et";
	assert_int_equal(write_file_atomic(path, text, strlen(text), 0600), 0);
	struct ipam *p = open_ipam(f);
	struct ipaddr got[1];
	assert_int_equal(ipam_lookup(p, "b", "eth0", got, NULL), 0);
	assert_int_equal(got[0].family, 0);
	assert_string_equal(alloc_str(p, "c", s), "10.250.0.3");
	ipam_close(p);
	p = open_ipam(f);
	assert_int_equal(ipam_lookup(p, "c", "eth0", got, NULL), 0);
	assert_string_equal(ipaddr_str(&got[0], s), "10.250.0.3");
	assert_int_equal(ipam_lookup(p, "a", "eth0", got, NULL), 0);
	assert_string_equal(ipaddr_str(&got[0], s), "10.250.0.2");
	ipam_close(p);
}

static size_t lines_of(const char *path)
{
	char *text = NULL;
	size_t n = 0;
	assert_int_equal(read_file(path, &text, NULL, 0), 0);
	for (char *c = text; *c; c++)
		n += *c == '\n';
	free(text);
	return n;
}

static void test_the_log_is_compacted_when_it_is_mostly_history(void **state)
{
	struct fixture *f = *state;
	char path[128], s[IPADDR_STRLEN];
	add_range(f, "10.250.0.0/24", NULL);
	snprintf(path, sizeof(path), "%s/leases", f->dir);
	struct ipam *p = open_ipam(f);
	assert_non_null(alloc_str(p, "keep", s));
	for (int i = 0; i < 200; i++) {
		assert_non_null(alloc_str(p, "churn", s));
		assert_int_equal(ipam_release(p, "churn", "eth0", NULL), 0);
	}
	assert_true(lines_of(path) < 100);
	struct ipaddr got[1];
	assert_int_equal(ipam_lookup(p, "keep", "eth0", got, NULL), 0);
	assert_string_equal(ipaddr_str(&got[0], s), "10.250.0.2");
	/* Round-robin survived the compactions: 200 churns later we are past .200. */
	assert_int_equal(ipam_lookup(p, "churn", "eth0", got, NULL), 0);
	assert_int_equal(got[0].family, 0);
	assert_string_equal(alloc_str(p, "next", s), "10.250.0.203");
	ipam_close(p);
}

static void test_owners_with_blanks_are_refused(void **state)
{
	struct fixture *f = *state;
	add_range(f, "10.250.0.0/24", NULL);
	struct ipam *p = open_ipam(f);
	struct ipaddr a[1];
	struct err e = { 0 };
	assert_int_equal(ipam_alloc(p, "a b", "eth0", a, NULL, &e), -EINVAL);
	assert_int_equal(ipam_alloc(p, "a", "", a, NULL, &e), -EINVAL);
	assert_int_equal(ipam_alloc(p, "a", "eth0\n", a, NULL, &e), -EINVAL);
	ipam_close(p);
}

/* Several processes, as containerd runs the plugin for several pods at once. */
static void test_concurrent_processes_never_share_an_address(void **state)
{
	struct fixture *f = *state;
	enum { PROCS = 4, EACH = 15 };
	add_range(f, "10.250.0.0/24", NULL);
	add_range(f, "fd00:250::/112", NULL);
	pid_t pids[PROCS];
	for (int k = 0; k < PROCS; k++) {
		pids[k] = fork();
		assert_true(pids[k] >= 0);
		if (pids[k] == 0) {
			/* Each process opens its own handle, as separate plugin runs do. */
			struct ipam *p = open_ipam(f);
			int bad = 0;
			for (int i = 0; i < EACH; i++) {
				char id[32];
				struct ipaddr a[2];
				snprintf(id, sizeof(id), "p%d-%d", k, i);
				bad |= ipam_alloc(p, id, "eth0", a, NULL, NULL) < 0;
			}
			ipam_close(p);
			_exit(bad);
		}
	}
	for (int k = 0; k < PROCS; k++) {
		int st = 0;
		assert_int_equal(waitpid(pids[k], &st, 0), pids[k]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	struct ipam *p = open_ipam(f);
	struct ipaddr seen[PROCS * EACH][2];
	for (int k = 0; k < PROCS; k++) {
		for (int i = 0; i < EACH; i++) {
			char id[32];
			snprintf(id, sizeof(id), "p%d-%d", k, i);
			struct ipaddr *got = seen[k * EACH + i];
			assert_int_equal(ipam_lookup(p, id, "eth0", got, NULL), 0);
			assert_int_equal(got[0].family, AF_INET);
			assert_int_equal(got[1].family, AF_INET6);
			for (int j = 0; j < k * EACH + i; j++) {
				assert_false(ipaddr_equal(&seen[j][0], &got[0]));
				assert_false(ipaddr_equal(&seen[j][1], &got[1]));
			}
		}
	}
	uint64_t avail[2];
	assert_int_equal(ipam_available(p, avail, NULL), 0);
	assert_int_equal(avail[0], 253 - PROCS * EACH);
	ipam_close(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_leases_skip_network_gateway_and_last_address,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_owner_gets_the_same_address_again, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_released_address_is_not_reused_at_once, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_full_range_in_dual_stack_keeps_nothing, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_leases_survive_a_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leases_from_another_boot_are_dropped, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_gc_releases_all_but_the_valid, setup,
		                                teardown),
		cmocka_unit_test(test_ranges_too_small_or_with_a_bad_gateway_are_refused),
		cmocka_unit_test_setup_teardown(test_explicit_gateway_is_never_leased, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_bad_lines_in_the_lease_file_are_skipped, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_torn_last_record_is_ignored_and_the_next_starts_afresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_the_log_is_compacted_when_it_is_mostly_history,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_owners_with_blanks_are_refused, setup,
		                                teardown),
		/* Last: fork hangs under qemu-user on our machines, so there it is left out. */
		cmocka_unit_test_setup_teardown(test_concurrent_processes_never_share_an_address,
		                                setup, teardown),
	};
	size_t n = ARRAY_SIZE(tests);
	if (getenv("TUG_TEST_QEMU")) {
		printf("# under qemu-user: the multi-process test runs in the native build only\n");
		n--;
	}
	return _cmocka_run_group_tests("ipam", tests, n, NULL, NULL);
}
