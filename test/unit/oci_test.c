/* oci_test: image tarballs written and read back, digests checked, malformed tarballs
 * refused with reasons, references normalized, registry paths routed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util/util.h"
#include "cri/oci/oci.h"

static char dir[64];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/tug-oci-test.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static char *path(const char *name)
{
	static char p[4][160];
	static int k;
	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

/* Writes a small image (one file, one link) to dir/<name>. */
static void write_image(const char *name, const char *ref)
{
	const char *hello = path("hello.txt");
	assert_int_equal(write_file_atomic(hello, "hello\n", 6, 0755), 0);
	struct oci_file files[] = {
		{ .src = hello, .dest = "bin/hello" },
		{ .dest = "bin/hi", .link = "hello" },
	};
	static const char *const entry[] = { "/bin/hello", NULL };
	struct oci_image img = {
		.name = ref, .arch = "amd64", .entrypoint = entry, .files = files, .nfiles = 2
	};
	struct err e = { 0 };
	assert_int_equal(oci_write(&img, path(name), &e), 0);
}

static void test_written_image_reads_back_by_name_and_digest(void **state)
{
	struct oci_archive *a = NULL;
	struct err e = { 0 };
	write_image("img.tar", "tug/test:1");
	assert_int_equal(oci_archive_open(path("img.tar"), &a, &e), 0);
	assert_int_equal(oci_archive_nimages(a), 1);
	assert_string_equal(oci_archive_image(a, 0), "docker.io/tug/test:1");
	assert_int_equal(oci_archive_verify(a, &e), 0);

	/* three blobs: layer, config, manifest; the manifest keeps the other two alive */
	assert_int_equal(oci_archive_nblobs(a), 3);
	struct oci_blob t;
	assert_int_equal(oci_archive_image_target(a, 0, &t), 0);
	char **labels = oci_gc_labels(&t);
	assert_string_equal(labels[0], "containerd.io/gc.ref.content.config");
	assert_string_equal(labels[2], "containerd.io/gc.ref.content.l.0");
	assert_null(labels[4]);
	oci_labels_free(labels);
	for (size_t i = 0; i < 3; i++) {
		struct oci_blob x;
		assert_int_equal(oci_archive_blob(a, i, &x), 0);
		labels = oci_gc_labels(&x);
		assert_true(!strcmp(x.digest, t.digest) ? labels[0] != NULL : labels[0] == NULL);
		oci_labels_free(labels);
	}

	struct oci_store *s = oci_store_new();
	oci_store_add(s, a);
	struct oci_blob m, b;
	assert_int_equal(oci_store_manifest(s, "docker.io", "tug/test", "1", &m), 0);
	assert_string_equal(m.media_type, "application/vnd.oci.image.manifest.v1+json");
	char *text = xmalloc(m.len + 1);
	assert_int_equal(pread(m.fd, text, m.len, m.off), (ssize_t)m.len);
	text[m.len] = 0;
	/* the config the manifest names is served by digest, with the size it claims */
	char *cfg = strstr(text, "\"config\":{");
	assert_non_null(cfg);
	char *d = strstr(cfg, "sha256:");
	assert_non_null(d);
	char digest[72];
	snprintf(digest, sizeof(digest), "%.71s", d);
	assert_int_equal(oci_store_blob(s, digest, &b), 0);
	char want[32];
	snprintf(want, sizeof(want), "\"size\":%zu", b.len);
	assert_non_null(strstr(cfg, want));
	/* the manifest by its digest too */
	assert_int_equal(oci_store_manifest(s, "docker.io", "tug/test", m.digest, &b), 0);
	assert_int_equal(b.len, m.len);
	assert_int_equal(oci_store_manifest(s, "docker.io", "tug/test", "2", &b), -ENOENT);
	assert_int_equal(oci_store_manifest(s, "quay.io", "tug/test", "1", &b), -ENOENT);
	assert_int_equal(oci_store_blob(s, "sha256:nothex", &b), -ENOENT);
	free(text);
	oci_store_free(s);
}

static void test_same_inputs_give_the_same_digests(void **state)
{
	char *a = NULL, *b = NULL;
	size_t la, lb;
	write_image("a.tar", "tug/test:1");
	write_image("b.tar", "tug/test:1");
	assert_int_equal(read_file(path("a.tar"), &a, &la, 1 << 20), 0);
	assert_int_equal(read_file(path("b.tar"), &b, &lb, 1 << 20), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la);
	free(a);
	free(b);
}

/* Finds the offset of the biggest blob's data (the layer) in a tarball. */
static size_t layer_offset(const char *data, size_t len)
{
	size_t best = 0, best_size = 0;
	for (size_t off = 0; off + 512 <= len;) {
		const char *h = data + off;
		if (!h[0])
			break;
		size_t size = strtoul(h + 124, NULL, 8);
		if (!strncmp(h, "blobs/sha256/", 13) && size > best_size) {
			best = off + 512;
			best_size = size;
		}
		off += 512 + (size + 511) / 512 * 512;
	}
	return best;
}

static void test_a_corrupt_blob_fails_verification(void **state)
{
	char *data = NULL;
	size_t len;
	struct oci_archive *a = NULL;
	struct err e = { 0 };
	write_image("img.tar", "tug/test:1");
	assert_int_equal(read_file(path("img.tar"), &data, &len, 1 << 20), 0);
	size_t off = layer_offset(data, len);
	assert_true(off > 0);
	data[off + 600] ^= 0x55;
	assert_int_equal(write_file_atomic(path("bad.tar"), data, len, 0644), 0);
	assert_int_equal(oci_archive_open(path("bad.tar"), &a, &e), 0);
	assert_int_equal(oci_archive_verify(a, &e), -EBADMSG);
	assert_non_null(strstr(e.msg, "does not match its digest"));
	oci_archive_close(a);
	free(data);
}

static void expect_refused(const char *name, const void *data, size_t len, const char *why)
{
	struct oci_archive *a = NULL;
	struct err e = { 0 };
	assert_int_equal(write_file_atomic(path(name), data, len, 0644), 0);
	assert_true(oci_archive_open(path(name), &a, &e) < 0);
	assert_null(a);
	if (!strstr(e.msg, why))
		fail_msg("%s: got '%s', want '%s'", name, e.msg, why);
}

/* A one-file tar with the given name and content (checksum right). */
static size_t tiny_tar(char *out, const char *name, const char *content)
{
	size_t n = strlen(content);
	memset(out, 0, 2048);
	strcpy(out, name);
	snprintf(out + 100, 8, "%07o", 0644);
	snprintf(out + 124, 12, "%011o", (unsigned)(n & 0777)); /* small content only */
	snprintf(out + 136, 12, "%011o", 0);
	out[156] = '0';
	memcpy(out + 257, "ustar", 6);
	memset(out + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += (unsigned char)out[i];
	snprintf(out + 148, 8, "%06o", sum);
	memcpy(out + 512, content, n);
	return 2048;
}

static void test_malformed_tarballs_are_refused_with_a_reason(void **state)
{
	char *data = NULL, t[2048];
	size_t len;
	struct oci_archive *a = NULL;
	struct err e = { 0 };

	expect_refused("empty.tar", "", 0, "no oci-layout");
	expect_refused("garbage.tar", "this is not a tarball at all, not even close......", 50,
	               "truncated tar header");
	char junk[1024];
	memset(junk, 'x', sizeof(junk));
	expect_refused("junk.tar", junk, sizeof(junk), "not a tar archive");
	write_image("img.tar", "tug/test:1");
	assert_int_equal(read_file(path("img.tar"), &data, &len, 1 << 20), 0);
	expect_refused("half.tar", data, layer_offset(data, len) + 100, "past the end");
	/* a tar with only an index.json that is not JSON */
	expect_refused("nolayout.tar", t, tiny_tar(t, "index.json", "{nope"), "no oci-layout");
	free(data);
	assert_true(oci_archive_open(path("missing.tar"), &a, &e) < 0);
	assert_non_null(strstr(e.msg, "missing.tar"));
	assert_true(oci_archive_open(dir, &a, &e) < 0);
}

static void test_index_errors_are_named(void **state)
{
	/* build layouts by hand: oci-layout + an index.json */
	char t[4096];
	tiny_tar(t, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
	char idx[2048];
	struct oci_archive *a = NULL;
	struct err e = { 0 };
	const char *bad_json = "{nope";
	const char *missing =
	    "{\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	    "\"digest\":\"sha256:"
	    "0000000000000000000000000000000000000000000000000000000000000000\","
	    "\"size\":1}]}";
	const char *cases[][2] = { { bad_json, "manifests array" },
		                   { missing, "not in the archive" },
		                   { "{\"manifests\":[{\"digest\":\"md5:x\"}]}",
		                     "sha256 digest" } };
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t m = tiny_tar(idx, "index.json", cases[i][0]);
		memcpy(t + 1024, idx, m);
		assert_int_equal(write_file_atomic(path("idx.tar"), t, 1024 + m, 0644), 0);
		assert_true(oci_archive_open(path("idx.tar"), &a, &e) < 0);
		if (!strstr(e.msg, cases[i][1]))
			fail_msg("case %zu: got '%s'", i, e.msg);
	}
}

static void test_random_damage_never_crashes(void **state)
{
	char *data = NULL;
	size_t len;
	write_image("img.tar", "tug/test:1");
	assert_int_equal(read_file(path("img.tar"), &data, &len, 1 << 20), 0);
	uint32_t x = 12345;
	int opened = 0;
	for (int i = 0; i < 300; i++) {
		char *copy = xmemdup(data, len);
		for (int k = 0; k < 4; k++) {
			x = x * 1103515245 + 12345;
			size_t at = (x >> 8) % len;
			/* aim mostly at headers and JSON, where parsing happens */
			if (k % 2 == 0)
				at = at / 512 * 512 + (x % 160) + 100 * (x % 2);
			copy[at % len] = (char)(x >> 3);
		}
		size_t cut = i % 7 == 0 ? (x % len) : len;
		assert_int_equal(write_file_atomic(path("fuzz.tar"), copy, cut, 0644), 0);
		struct oci_archive *a = NULL;
		struct err e = { 0 };
		if (oci_archive_open(path("fuzz.tar"), &a, &e) == 0) {
			opened++;
			oci_archive_verify(a, &e);
			oci_archive_close(a);
		} else {
			assert_true(e.msg[0] != 0);
		}
		free(copy);
	}
	free(data);
	print_message("# %d of 300 damaged tarballs still opened\n", opened);
}

static void test_references_normalize_as_containerd_does(void **state)
{
	const char *cases[][2] = {
		{ "busybox", "docker.io/library/busybox:latest" },
		{ "busybox:1.36", "docker.io/library/busybox:1.36" },
		{ "tug/pause:1", "docker.io/tug/pause:1" },
		{ "docker.io/tug/pause:1", "docker.io/tug/pause:1" },
		{ "localhost:5000/x", "localhost:5000/x:latest" },
		{ "localhost/x:y", "localhost/x:y" },
		{ "ghcr.io/a/b/c:v1.2", "ghcr.io/a/b/c:v1.2" },
		{ "a@sha256:0123", "docker.io/library/a@sha256:0123" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *n = oci_normalize_ref(cases[i][0]);
		assert_non_null(n);
		assert_string_equal(n, cases[i][1]);
		free(n);
	}
	const char *bad[] = { "", "Upper/x", "a//b", "x:", "/x", "x/", "a b", "ghcr.io/", NULL };
	for (size_t i = 0; bad[i]; i++) {
		char *n = oci_normalize_ref(bad[i]);
		if (n)
			fail_msg("'%s' normalized to '%s'", bad[i], n);
	}
}

static void test_registry_paths_route_to_manifests_and_blobs(void **state)
{
	struct oci_route r = oci_route_parse("/v2/");
	assert_int_equal(r.kind, OCI_ROUTE_BASE);
	r = oci_route_parse("/v2/library/busybox/manifests/1.36?ns=docker.io");
	assert_int_equal(r.kind, OCI_ROUTE_MANIFEST);
	assert_string_equal(r.repo, "library/busybox");
	assert_string_equal(r.ref, "1.36");
	r = oci_route_parse("/v2/tug/pause/blobs/sha256:abcd");
	assert_int_equal(r.kind, OCI_ROUTE_BLOB);
	assert_string_equal(r.repo, "tug/pause");
	assert_string_equal(r.ref, "sha256:abcd");
	/* a repository may itself contain "manifests" */
	r = oci_route_parse("/v2/a/manifests/b/manifests/c");
	assert_int_equal(r.kind, OCI_ROUTE_MANIFEST);
	assert_string_equal(r.repo, "a/manifests/b");
	const char *none[] = { "/v2/x/blobs/latest",
		               "/v2/../etc/manifests/x",
		               "/v1/x/manifests/y",
		               "/v2/manifests/x",
		               "/v2/x/manifests/",
		               "/",
		               "",
		               NULL };
	for (size_t i = 0; none[i]; i++) {
		r = oci_route_parse(none[i]);
		if (r.kind != OCI_ROUTE_NONE)
			fail_msg("'%s' routed to %d", none[i], r.kind);
	}
}

static void test_images_dir_loads_good_tarballs_and_names_the_bad(void **state)
{
	char sub[200];
	snprintf(sub, sizeof(sub), "%s/images", dir);
	assert_int_equal(mkdir_p(sub, 0755), 0);
	write_image("images/good.tar", "example.org/team/app:2");
	assert_int_equal(write_file_atomic(path("images/bad.tar"), "nope", 4, 0644), 0);
	assert_int_equal(write_file_atomic(path("images/readme.txt"), "x", 1, 0644), 0);
	struct oci_store *s = oci_store_new();
	struct err e = { 0 };
	assert_int_equal(oci_store_load_dir(s, sub, &e), 1);
	assert_non_null(strstr(e.msg, "bad.tar"));
	assert_int_equal(oci_store_nimages(s), 1);
	assert_string_equal(oci_store_image(s, 0), "example.org/team/app:2");
	struct oci_blob b;
	assert_int_equal(oci_store_manifest(s, "example.org", "team/app", "2", &b), 0);
	oci_store_free(s);
	s = oci_store_new();
	assert_int_equal(oci_store_load_dir(s, path("nonexistent"), &e), 0);
	oci_store_free(s);
}

static void test_arch_of_target_triples(void **state)
{
	const char *arch, *variant;
	assert_true(oci_arch("aarch64-linux-gnu", &arch, &variant));
	assert_string_equal(arch, "arm64");
	assert_null(variant);
	assert_true(oci_arch("arm-linux-gnueabihf", &arch, &variant));
	assert_string_equal(arch, "arm");
	assert_string_equal(variant, "v7");
	assert_true(oci_arch("x86_64-linux-gnu", &arch, &variant));
	assert_string_equal(arch, "amd64");
	assert_false(oci_arch("mips-linux-gnu", &arch, &variant));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_written_image_reads_back_by_name_and_digest,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_inputs_give_the_same_digests, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_a_corrupt_blob_fails_verification, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_malformed_tarballs_are_refused_with_a_reason,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_errors_are_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_damage_never_crashes, setup, teardown),
		cmocka_unit_test(test_references_normalize_as_containerd_does),
		cmocka_unit_test(test_registry_paths_route_to_manifests_and_blobs),
		cmocka_unit_test_setup_teardown(
		    test_images_dir_loads_good_tarballs_and_names_the_bad, setup, teardown),
		cmocka_unit_test(test_arch_of_target_triples),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
