/* util_test: durations, numbers, buffers, CRC-32C, atomic file writes, error wrapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util/util.h"

static void test_durations_parse_like_go(void **state)
{
	uint64_t ms = 0;
	assert_true(parse_duration_ms("90", &ms));
	assert_int_equal(ms, 90000);
	assert_true(parse_duration_ms("1h30m", &ms));
	assert_int_equal(ms, 5400000);
	assert_true(parse_duration_ms("250ms", &ms));
	assert_int_equal(ms, 250);
	assert_true(parse_duration_ms("2m3s", &ms));
	assert_int_equal(ms, 123000);
	assert_false(parse_duration_ms("", &ms));
	assert_false(parse_duration_ms("5x", &ms));
	assert_false(parse_duration_ms("m5", &ms));
	assert_false(parse_duration_ms("99999999999999999999s", &ms));
}

static void test_numbers_reject_junk_and_overflow(void **state)
{
	uint64_t v = 0;
	assert_true(parse_u64("18446744073709551615", &v));
	assert_true(v == UINT64_MAX);
	assert_false(parse_u64("18446744073709551616", &v));
	assert_false(parse_u64("-1", &v));
	assert_false(parse_u64("12a", &v));
	assert_false(parse_u64("", &v));
}

static void test_buffer_grows_and_stays_terminated(void **state)
{
	struct buf b = { 0 };
	for (int i = 0; i < 1000; i++)
		buf_printf(&b, "%d,", i);
	assert_int_equal(b.len, strlen(b.data));
	assert_true(str_has_prefix(b.data, "0,1,2,"));
	assert_true(str_has_suffix(b.data, "998,999,"));
	char *s = buf_steal(&b);
	assert_null(b.data);
	free(s);
}

static void test_crc32c_matches_known_vector(void **state)
{
	/* RFC 3720 test vector: 32 bytes of zeros. */
	uint8_t z[32] = { 0 };
	assert_int_equal(crc32c(0, z, sizeof(z)), 0x8a9136aa);
	assert_int_equal(crc32c(0, "123456789", 9), 0xe3069283);
}

static void test_atomic_write_replaces_file_with_mode(void **state)
{
	char dir[] = "/tmp/tug-util-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	assert_int_equal(mkdir_p(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/a/f", dir);
	assert_int_equal(write_file_atomic(path, "one", 3, 0600), 0);
	assert_int_equal(write_file_atomic(path, "two!", 4, 0640), 0);
	char *text = NULL;
	size_t n = 0;
	assert_int_equal(read_file(path, &text, &n, 0), 0);
	assert_int_equal(n, 4);
	assert_string_equal(text, "two!");
	free(text);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(read_file(path, &text, &n, 2), -EFBIG);
	assert_int_equal(read_file("/nonexistent/x", &text, &n, 0), -ENOENT);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_error_wrap_keeps_code_and_context(void **state)
{
	struct err e = { 0 };
	assert_int_equal(err_set(&e, -ENOENT, "open %s", "x"), -ENOENT);
	err_wrap(&e, "start store");
	assert_string_equal(e.msg, "start store: open x");
	assert_int_equal(e.code, -ENOENT);
	char big[600];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	err_set(&e, -EIO, "%s", big);
	err_wrap(&e, "ctx");
	assert_true(strlen(e.msg) < sizeof(e.msg));
	assert_true(str_has_prefix(e.msg, "ctx: aaa"));
}

static void test_strmap_puts_gets_deletes_and_iterates(void **state)
{
	struct strmap m = { 0 };
	char k[32];
	for (intptr_t i = 0; i < 1000; i++) {
		snprintf(k, sizeof(k), "ns/pod-%d", (int)i);
		assert_null(strmap_put(&m, k, (void *)(i + 1)));
	}
	assert_int_equal(m.len, 1000);
	assert_true(strmap_get(&m, "ns/pod-500") == (void *)501);
	assert_null(strmap_get(&m, "ns/pod-1000"));
	assert_true(strmap_put(&m, "ns/pod-500", (void *)7) == (void *)501);
	for (int i = 0; i < 1000; i += 2) {
		snprintf(k, sizeof(k), "ns/pod-%d", i);
		assert_non_null(strmap_del(&m, k));
	}
	assert_null(strmap_del(&m, "ns/pod-0"));
	assert_int_equal(m.len, 500);
	/* Churn through deletions does not grow the table without bound. */
	for (int r = 0; r < 20; r++)
		for (int i = 0; i < 1000; i += 2) {
			snprintf(k, sizeof(k), "ns/pod-%d", i);
			strmap_put(&m, k, (void *)1);
			strmap_del(&m, k);
		}
	assert_true(m.cap <= 4096);
	size_t it = 0, n = 0;
	const char *key;
	void *v;
	while (strmap_next(&m, &it, &key, &v)) {
		assert_true(str_has_prefix(key, "ns/pod-"));
		n++;
	}
	assert_int_equal(n, 500);
	strmap_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations_parse_like_go),
		cmocka_unit_test(test_numbers_reject_junk_and_overflow),
		cmocka_unit_test(test_buffer_grows_and_stays_terminated),
		cmocka_unit_test(test_crc32c_matches_known_vector),
		cmocka_unit_test(test_atomic_write_replaces_file_with_mode),
		cmocka_unit_test(test_error_wrap_keeps_code_and_context),
		cmocka_unit_test(test_strmap_puts_gets_deletes_and_iterates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
