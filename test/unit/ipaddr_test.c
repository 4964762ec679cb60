/* ipaddr_test: parsing, printing and stepping of IPv4/IPv6 addresses and prefixes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "net/ipaddr/ipaddr.h"

static void test_addresses_parse_and_print_in_both_families(void **state)
{
	struct ipaddr a;
	char s[IPADDR_STRLEN];
	assert_int_equal(ipaddr_parse("10.42.0.7", &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_string_equal(ipaddr_str(&a, s), "10.42.0.7");
	assert_int_equal(ipaddr_parse("FD00:250::0:1", &a), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_string_equal(ipaddr_str(&a, s), "fd00:250::1");
	assert_int_equal(ipaddr_parse("10.42.0", &a), -EINVAL);
	assert_int_equal(ipaddr_parse("", &a), -EINVAL);
	assert_int_equal(ipaddr_parse(NULL, &a), -EINVAL);
	assert_int_equal(ipaddr_parse("10.42.0.1/24", &a), -EINVAL);
}

static void test_prefixes_reject_junk_and_host_bits_when_strict(void **state)
{
	struct ipaddr_net n;
	char s[IPADDR_NET_STRLEN];
	assert_int_equal(ipaddr_net_parse("10.42.0.0/24", &n, true), 0);
	assert_int_equal(n.len, 24);
	assert_string_equal(ipaddr_net_str(&n, s), "10.42.0.0/24");
	assert_int_equal(ipaddr_net_parse("10.42.0.5/24", &n, true), -EINVAL);
	assert_int_equal(ipaddr_net_parse("10.42.0.5/24", &n, false), 0);
	assert_string_equal(ipaddr_net_str(&n, s), "10.42.0.5/24");
	assert_int_equal(ipaddr_net_parse("10.42.0.0/33", &n, false), -EINVAL);
	assert_int_equal(ipaddr_net_parse("10.42.0.0/", &n, false), -EINVAL);
	assert_int_equal(ipaddr_net_parse("10.42.0.0/024", &n, false), -EINVAL);
	assert_int_equal(ipaddr_net_parse("10.42.0.0/-1", &n, false), -EINVAL);
	assert_int_equal(ipaddr_net_parse("10.42.0.0", &n, false), -EINVAL);
	assert_int_equal(ipaddr_net_parse("fd00::/129", &n, false), -EINVAL);
	assert_int_equal(ipaddr_net_parse("fd00:250::/64", &n, true), 0);
	assert_int_equal(ipaddr_net_parse("::/0", &n, true), 0);
	assert_int_equal(n.len, 0);
}

static void test_prefix_bounds_containment_and_overlap(void **state)
{
	struct ipaddr_net n, m;
	struct ipaddr a;
	char s[IPADDR_STRLEN];
	assert_int_equal(ipaddr_net_parse("10.42.3.0/22", &n, false), 0);
	ipaddr_net_first(&n, &a);
	assert_string_equal(ipaddr_str(&a, s), "10.42.0.0");
	ipaddr_net_last(&n, &a);
	assert_string_equal(ipaddr_str(&a, s), "10.42.3.255");
	assert_true(ipaddr_net_contains(&n, &a));
	ipaddr_parse("10.42.4.0", &a);
	assert_false(ipaddr_net_contains(&n, &a));
	ipaddr_parse("fd00::1", &a);
	assert_false(ipaddr_net_contains(&n, &a));
	assert_int_equal(ipaddr_net_parse("10.42.2.0/24", &m, true), 0);
	assert_true(ipaddr_net_overlaps(&n, &m));
	assert_int_equal(ipaddr_net_parse("10.43.0.0/16", &m, true), 0);
	assert_false(ipaddr_net_overlaps(&n, &m));
	assert_int_equal(ipaddr_net_parse("fd00:250::1:0/112", &n, true), 0);
	ipaddr_net_last(&n, &a);
	assert_string_equal(ipaddr_str(&a, s), "fd00:250::1:ffff");
}

static void test_increment_carries_and_reports_wrap(void **state)
{
	struct ipaddr a;
	char s[IPADDR_STRLEN];
	ipaddr_parse("10.42.0.255", &a);
	assert_true(ipaddr_inc(&a));
	assert_string_equal(ipaddr_str(&a, s), "10.42.1.0");
	ipaddr_parse("255.255.255.255", &a);
	assert_false(ipaddr_inc(&a));
	ipaddr_parse("fd00::ffff:ffff", &a);
	assert_true(ipaddr_inc(&a));
	assert_string_equal(ipaddr_str(&a, s), "fd00::1:0:0");
	struct ipaddr b;
	ipaddr_parse("fd00::1:0:0", &b);
	assert_true(ipaddr_equal(&a, &b));
	assert_int_equal(ipaddr_cmp(&a, &b), 0);
	ipaddr_parse("10.0.0.1", &b);
	assert_true(ipaddr_cmp(&b, &a) < 0); /* IPv4 sorts before IPv6 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addresses_parse_and_print_in_both_families),
		cmocka_unit_test(test_prefixes_reject_junk_and_host_bits_when_strict),
		cmocka_unit_test(test_prefix_bounds_containment_and_overlap),
		cmocka_unit_test(test_increment_carries_and_reports_wrap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
