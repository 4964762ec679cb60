/* store_test: every store operation and edge case, on real LMDB files in temp dirs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/store/store.h"

static char dir[128], vdir[160];

static int setup(void **state)
{
	strcpy(dir, "/tmp/tug-store-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(vdir, sizeof(vdir), "%s-vol", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "%s/ro", dir);
	umount2(cmd, MNT_DETACH);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir, vdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *const vprefixes[] = { "/registry/leases/", NULL };

static struct store *open_store_opts(bool with_volatile, uint64_t retention_revs)
{
	struct store *s = NULL;
	struct err e = { 0 };
	struct store_opts o = { .dir = dir,
		                .no_background = true,
		                .retention_revisions = retention_revs };
	if (with_volatile) {
		o.volatile_dir = vdir;
		o.volatile_prefixes = vprefixes;
	}
	int rc = store_open(&s, &o, &e);
	if (rc < 0)
		fail_msg("store_open: %s", e.msg);
	return s;
}

static struct store *open_store(void)
{
	return open_store_opts(false, 0);
}

static uint64_t put(struct store *s, const char *k, const char *v)
{
	uint64_t rev = 0;
	struct err e = { 0 };
	int rc = store_put(s, k, v, strlen(v), &rev, &e);
	if (rc < 0)
		fail_msg("put %s: %s", k, e.msg);
	return rev;
}

/* Value of key at rev (0: newest) as a new string, or NULL. */
static char *get_at(struct store *s, const char *key, uint64_t rev, uint64_t *mod)
{
	struct store_snap *sn = NULL;
	struct store_kv kv;
	char *out = NULL;
	assert_int_equal(store_snap_begin(s, rev, &sn, NULL), 0);
	if (store_snap_get(sn, key, &kv) == 0) {
		out = xstrndup(kv.val, kv.val_len);
		if (mod)
			*mod = kv.mod_rev;
	}
	store_snap_end(sn);
	return out;
}

static void assert_value(struct store *s, const char *key, uint64_t rev, const char *want)
{
	char *v = get_at(s, key, rev, NULL);
	if (!want) {
		if (v)
			fail_msg("%s at %llu: want absent, got '%s'", key, (unsigned long long)rev,
			         v);
		return;
	}
	if (!v)
		fail_msg("%s at %llu: want '%s', got nothing", key, (unsigned long long)rev, want);
	assert_string_equal(v, want);
	free(v);
}

struct collect {
	struct buf b;
	size_t n;
};

static int collect_kv(void *arg, const struct store_kv *kv)
{
	struct collect *c = arg;
	buf_printf(&c->b, "%s=%.*s;", kv->key, (int)kv->val_len, kv->val);
	c->n++;
	return 0;
}

static char *range(struct store *s, const char *prefix, const char *start, size_t limit,
                   uint64_t rev, bool *more)
{
	struct store_snap *sn = NULL;
	struct collect c = { 0 };
	assert_int_equal(store_snap_begin(s, rev, &sn, NULL), 0);
	assert_int_equal(store_snap_range(sn, prefix, start, limit, collect_kv, &c, more), 0);
	store_snap_end(sn);
	return buf_steal(&c.b);
}

/* --- basic operations ---------------------------------------------------------- */

static void test_every_write_takes_the_next_revision(void **state)
{
	struct store *s = open_store();
	struct err e = { 0 };
	uint64_t rev = 0, mod = 0, cr = 0;
	char *v = NULL;

	assert_int_equal(store_create(s, "/a", "one", 3, &rev, &e), 0);
	assert_int_equal(rev, 1);
	assert_int_equal(put(s, "/b", "x"), 2);
	assert_int_equal(store_update(s, "/a", "two", 3, 1, &rev, &e), 0);
	assert_int_equal(rev, 3);
	assert_int_equal(store_delete(s, "/b", STORE_ANY, &rev, &e), 0);
	assert_int_equal(rev, 4);
	assert_int_equal(store_rev(s), 4);
	assert_int_equal(store_get(s, "/a", &v, NULL, &mod, &cr, &e), 0);
	assert_string_equal(v, "two");
	assert_int_equal(mod, 3);
	assert_int_equal(cr, 1);
	free(v);
	assert_int_equal(store_get(s, "/b", &v, NULL, NULL, NULL, &e), -ENOENT);
	store_close(s);
}

static void test_create_fails_when_the_key_exists(void **state)
{
	struct store *s = open_store();
	struct err e = { 0 };
	put(s, "/a", "1");
	assert_int_equal(store_create(s, "/a", "2", 1, NULL, &e), -EEXIST);
	assert_non_null(strstr(e.msg, "already exists"));
	assert_int_equal(store_rev(s), 1);
	assert_value(s, "/a", 0, "1");
	store_close(s);
}

static void test_update_with_a_stale_revision_is_rejected(void **state)
{
	struct store *s = open_store();
	struct err e = { 0 };
	put(s, "/registry/pods/default/web", "a");
	put(s, "/registry/pods/default/web", "b");
	put(s, "/registry/pods/default/web", "c");
	assert_int_equal(store_update(s, "/registry/pods/default/web", "d", 1, 1, NULL, &e),
	                 STORE_E_STALE);
	assert_string_equal(e.msg,
	                    "update /registry/pods/default/web: revision 1 is stale (now 3)");
	assert_int_equal(store_update(s, "/registry/pods/default/web", "d", 1, 3, NULL, &e), 0);
	assert_value(s, "/registry/pods/default/web", 0, "d");
	store_close(s);
}

static void test_guarded_writes_of_missing_keys_are_not_found(void **state)
{
	struct store *s = open_store();
	struct err e = { 0 };
	assert_int_equal(store_update(s, "/nope", "x", 1, 5, NULL, &e), -ENOENT);
	assert_int_equal(store_delete(s, "/nope", STORE_ANY, NULL, &e), -ENOENT);
	assert_int_equal(store_delete(s, "/nope", 3, NULL, &e), -ENOENT);
	put(s, "/k", "v");
	assert_int_equal(store_delete(s, "/k", 7, NULL, &e), STORE_E_STALE);
	assert_int_equal(store_delete(s, "/k", 1, NULL, &e), 0);
	assert_int_equal(store_rev(s), 2);
	store_close(s);
}

static void test_a_new_incarnation_after_delete_gets_a_new_create_revision(void **state)
{
	struct store *s = open_store();
	struct err e = { 0 };
	uint64_t cr = 0;
	put(s, "/k", "1");
	put(s, "/k", "2");
	assert_int_equal(store_delete(s, "/k", STORE_ANY, NULL, &e), 0);
	put(s, "/k", "3");
	assert_int_equal(store_get(s, "/k", NULL, NULL, NULL, &cr, &e), 0);
	assert_int_equal(cr, 4);
	assert_int_equal(store_checkpoint(s, &e), 0);
	put(s, "/k", "5");
	assert_int_equal(store_get(s, "/k", NULL, NULL, NULL, &cr, &e), 0);
	assert_int_equal(cr, 4);
	store_close(s);
}

static void test_transactions_apply_all_or_nothing_at_one_revision(void **state)
{
	struct store *s = open_store();
	struct err e = { 0 };
	struct store_result res;
	put(s, "/a", "a1");
	struct store_op ok[] = {
		{ STORE_PUT, "/a", "a2", 2, 1 },
		{ STORE_PUT, "/b", "b1", 2, STORE_ABSENT },
		{ STORE_PUT, "/c", "c1", 2, STORE_ANY },
	};
	assert_int_equal(store_txn(s, ok, 3, &res, &e), 0);
	assert_int_equal(res.rev, 2);
	uint64_t mod = 0;
	free(get_at(s, "/b", 0, &mod));
	assert_int_equal(mod, 2);
	free(get_at(s, "/c", 0, &mod));
	assert_int_equal(mod, 2);

	struct store_op bad[] = {
		{ STORE_PUT, "/d", "d1", 2, STORE_ANY },
		{ STORE_DELETE, "/c", NULL, 0, STORE_ANY },
		{ STORE_PUT, "/a", "a3", 2, 1 },
	};
	assert_int_equal(store_txn(s, bad, 3, &res, &e), STORE_E_STALE);
	assert_int_equal(res.failed_op, 2);
	assert_int_equal(res.cur_rev, 2);
	assert_int_equal(store_rev(s), 2);
	assert_value(s, "/d", 0, NULL);
	assert_value(s, "/c", 0, "c1");

	struct store_op dup[] = {
		{ STORE_PUT, "/x", "1", 1, STORE_ANY },
		{ STORE_PUT, "/x", "2", 1, STORE_ANY },
	};
	assert_int_equal(store_txn(s, dup, 2, &res, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "twice"));
	assert_int_equal(store_txn(s, dup, 0, &res, &e), -EINVAL);
	store_close(s);
}

static void test_bad_keys_and_oversized_values_are_refused(void **state)
{
	struct store *s = open_store();
	struct err e = { 0 };
	char key[600];
	memset(key, 'k', sizeof(key) - 1);
	key[0] = '/';
	key[sizeof(key) - 1] = '\0';
	assert_int_equal(store_put(s, key, "v", 1, NULL, &e), -E2BIG);
	assert_int_equal(store_put(s, "", "v", 1, NULL, &e), -EINVAL);
	assert_int_equal(store_put(s, "/a\nb", "v", 1, NULL, &e), -EINVAL);
	assert_int_equal(store_put(s, NULL, "v", 1, NULL, &e), -EINVAL);
	size_t big = 2u << 20;
	char *val = xcalloc(1, big);
	assert_int_equal(store_put(s, "/big", val, big, NULL, &e), -E2BIG);
	assert_non_null(strstr(e.msg, "over the limit"));
	assert_int_equal(store_put(s, "/fits", val, 1u << 20, NULL, &e), 0);
	free(val);
	/* A key at the limit works, through a checkpoint too. */
	key[STORE_MAX_KEY] = '\0';
	assert_int_equal(store_put(s, key, "v", 1, NULL, &e), 0);
	assert_int_equal(store_checkpoint(s, &e), 0);
	assert_value(s, key, 0, "v");
	assert_int_equal(store_rev(s), 2);
	store_close(s);
}

/* --- reads --------------------------------------------------------------------- */

static void test_range_pages_stay_consistent_at_the_first_pages_revision(void **state)
{
	struct store *s = open_store();
	struct err e = { 0 };
	char k[64];
	for (int i = 0; i < 25; i++) {
		snprintf(k, sizeof(k), "/registry/pods/ns/p%02d", i);
		put(s, k, "v1");
	}
	put(s, "/registry/pods/other", "no");
	put(s, "/registry/podsx/z", "no");
	uint64_t r = store_rev(s);
	bool more = false;
	char *p1 = range(s, "/registry/pods/ns/", NULL, 10, r, &more);
	assert_true(more);
	assert_true(str_has_prefix(p1, "/registry/pods/ns/p00=v1;"));
	assert_true(str_has_suffix(p1, "/registry/pods/ns/p09=v1;"));
	free(p1);
	/* Changes between pages must not show in later pages read at r. */
	assert_int_equal(store_delete(s, "/registry/pods/ns/p12", STORE_ANY, NULL, &e), 0);
	put(s, "/registry/pods/ns/p15", "v2");
	put(s, "/registry/pods/ns/p10b", "new");
	assert_int_equal(store_checkpoint(s, &e), 0);
	put(s, "/registry/pods/ns/p16", "v3");
	char *p2 = range(s, "/registry/pods/ns/", "/registry/pods/ns/p09\x01", 10, r, &more);
	assert_true(more);
	assert_true(str_has_prefix(p2, "/registry/pods/ns/p10=v1;/registry/pods/ns/p11=v1;"
	                               "/registry/pods/ns/p12=v1;"));
	assert_non_null(strstr(p2, "p15=v1;p16") == NULL ? p2 : NULL);
	free(p2);
	char *p3 = range(s, "/registry/pods/ns/", "/registry/pods/ns/p19\x01", 10, r, &more);
	assert_false(more);
	assert_string_equal(p3, "/registry/pods/ns/p20=v1;/registry/pods/ns/p21=v1;"
	                        "/registry/pods/ns/p22=v1;/registry/pods/ns/p23=v1;"
	                        "/registry/pods/ns/p24=v1;");
	free(p3);
	/* The newest view has the changes. */
	char *now = range(s, "/registry/pods/ns/p1", NULL, 0, 0, &more);
	assert_string_equal(now, "/registry/pods/ns/p10=v1;/registry/pods/ns/p10b=new;"
	                         "/registry/pods/ns/p11=v1;/registry/pods/ns/p13=v1;"
	                         "/registry/pods/ns/p14=v1;/registry/pods/ns/p15=v2;"
	                         "/registry/pods/ns/p16=v3;/registry/pods/ns/p17=v1;"
	                         "/registry/pods/ns/p18=v1;/registry/pods/ns/p19=v1;");
	free(now);
	struct store_snap *sn = NULL;
	size_t count = 0;
	assert_int_equal(store_snap_begin(s, r, &sn, NULL), 0);
	assert_int_equal(store_snap_count(sn, "/registry/pods/", &count), 0);
	assert_int_equal(count, 26);
	store_snap_end(sn);
	store_close(s);
}

static void test_reads_merge_the_log_and_the_checkpointed_database(void **state)
{
	struct store *s = open_store();
	struct err e = { 0 };
	put(s, "/r/a", "a1");
	put(s, "/r/b", "b1");
	put(s, "/r/c", "c1");
	assert_int_equal(store_checkpoint(s, &e), 0);
	put(s, "/r/b", "b2");
	assert_int_equal(store_delete(s, "/r/c", STORE_ANY, NULL, &e), 0);
	put(s, "/r/d", "d1");
	char *all = range(s, "/r/", NULL, 0, 0, NULL);
	assert_string_equal(all, "/r/a=a1;/r/b=b2;/r/d=d1;");
	free(all);
	all = range(s, "/r/", NULL, 0, 3, NULL);
	assert_string_equal(all, "/r/a=a1;/r/b=b1;/r/c=c1;");
	free(all);
	assert_int_equal(store_checkpoint(s, &e), 0);
	all = range(s, "/r/", NULL, 0, 0, NULL);
	assert_string_equal(all, "/r/a=a1;/r/b=b2;/r/d=d1;");
	free(all);
	all = range(s, "/r/", NULL, 0, 4, NULL);
	assert_string_equal(all, "/r/a=a1;/r/b=b2;/r/c=c1;");
	free(all);
	assert_value(s, "/r/c", 3, "c1");
	assert_value(s, "/r/c", 5, NULL);
	assert_value(s, "/r/b", 2, "b1");
	assert_value(s, "/r/x", 0, NULL);
	store_close(s);
}

static void test_reads_outside_the_kept_history_fail_clearly(void **state)
{
	struct store *s = open_store();
	struct err e = { 0 };
	struct store_snap *sn = NULL;
	for (int i = 0; i < 10; i++)
		put(s, "/k", "v");
	assert_int_equal(store_snap_begin(s, 11, &sn, &e), STORE_E_FUTURE);
	assert_int_equal(store_compact(s, 6, &e), 0);
	assert_int_equal(store_compacted_rev(s), 6);
	assert_int_equal(store_snap_begin(s, 5, &sn, &e), STORE_E_COMPACTED);
	assert_non_null(strstr(e.msg, "compacted"));
	assert_int_equal(store_snap_begin(s, 6, &sn, &e), 0);
	store_snap_end(sn);
	assert_value(s, "/k", 0, "v");
	assert_int_equal(store_compact(s, 99, &e), STORE_E_FUTURE);
	store_close(s);
}

/* --- durability and recovery ---------------------------------------------------- */

/* Writes in a child that dies without closing: only the log has the writes. */
static void child_writes_then_dies(int n, int from)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *s = open_store();
		char k[32], v[32];
		for (int i = from; i < from + n; i++) {
			snprintf(k, sizeof(k), "/c/%03d", i);
			snprintf(v, sizeof(v), "v%d", i);
			if (store_put(s, k, v, strlen(v), NULL, NULL) < 0)
				_exit(3);
		}
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_writes_survive_a_crash_through_the_log(void **state)
{
	child_writes_then_dies(50, 0);
	struct store *s = open_store();
	assert_int_equal(store_rev(s), 50);
	assert_value(s, "/c/049", 0, "v49");
	assert_value(s, "/c/000", 0, "v0");
	store_close(s);
	/* Again, on top of a checkpointed database. */
	child_writes_then_dies(10, 50);
	s = open_store();
	assert_int_equal(store_rev(s), 60);
	char *all = range(s, "/c/", "/c/058", 0, 0, NULL);
	assert_string_equal(all, "/c/058=v58;/c/059=v59;");
	free(all);
	store_close(s);
}

static void wal_path(char *out, size_t n)
{
	snprintf(out, n, "%s/wal", dir);
}

static void test_a_torn_log_tail_is_dropped(void **state)
{
	char p[256];
	struct stat st;
	child_writes_then_dies(5, 0);
	wal_path(p, sizeof(p));
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(truncate(p, st.st_size - 10), 0);
	struct store *s = open_store();
	assert_int_equal(store_rev(s), 4);
	assert_value(s, "/c/004", 0, NULL);
	assert_value(s, "/c/003", 0, "v3");
	/* It carries on from there with the next revision. */
	assert_int_equal(put(s, "/c/x", "y"), 5);
	store_close(s);
}

static void test_damage_in_the_middle_of_the_log_is_refused_not_dropped(void **state)
{
	char p[256];
	child_writes_then_dies(5, 0);
	wal_path(p, sizeof(p));
	int fd = open(p, O_RDWR);
	assert_true(fd >= 0);
	char c;
	assert_int_equal(pread(fd, &c, 1, 70), 1);
	c ^= 0x40;
	assert_int_equal(pwrite(fd, &c, 1, 70), 1);
	close(fd);
	struct store *s = NULL;
	struct err e = { 0 };
	struct store_opts o = { .dir = dir, .no_background = true };
	assert_int_equal(store_open(&s, &o, &e), STORE_E_CORRUPT);
	assert_non_null(strstr(e.msg, "refusing to drop them"));
	/* Put the byte back: everything is there. */
	fd = open(p, O_RDWR);
	c ^= 0x40;
	assert_int_equal(pwrite(fd, &c, 1, 70), 1);
	close(fd);
	s = open_store();
	assert_int_equal(store_rev(s), 5);
	store_close(s);
}

static uint64_t file_sum(const char *path)
{
	char *text = NULL;
	size_t n = 0;
	if (read_file(path, &text, &n, 0) < 0)
		return 0;
	uint64_t h = crc32c(0, text, n) | ((uint64_t)n << 32);
	free(text);
	return h;
}

static void test_foreign_or_garbage_database_files_are_refused_untouched(void **state)
{
	char p[256];
	MDB_env *env;
	MDB_txn *t;
	MDB_dbi dbi;
	/* Somebody else's LMDB database. */
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &t), 0);
	assert_int_equal(mdb_dbi_open(t, NULL, 0, &dbi), 0);
	MDB_val k = { 3, "key" }, v = { 5, "value" };
	assert_int_equal(mdb_put(t, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(t), 0);
	mdb_env_close(env);
	snprintf(p, sizeof(p), "%s/data.mdb", dir);
	uint64_t before = file_sum(p);
	struct store *s = NULL;
	struct err e = { 0 };
	struct store_opts o = { .dir = dir, .no_background = true };
	assert_int_equal(store_open(&s, &o, &e), STORE_E_CORRUPT);
	assert_non_null(strstr(e.msg, "not a tug store"));
	assert_true(file_sum(p) == before);
	/* Garbage. */
	char junk[8192];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 7 + 3);
	assert_int_equal(write_file_atomic(p, junk, sizeof(junk), 0600), 0);
	before = file_sum(p);
	assert_true(store_open(&s, &o, &e) < 0);
	assert_true(strlen(e.msg) > 0);
	assert_true(file_sum(p) == before);
}

/* Run in a child: RLIMIT_FSIZE makes the log's growth fail as a full disk would. */
static void test_a_full_disk_fails_writes_clearly_and_loses_nothing(void **state)
{
	struct store *s = open_store();
	char k[32];
	for (int i = 0; i < 20; i++) {
		snprintf(k, sizeof(k), "/f/%02d", i);
		put(s, k, "before");
	}
	store_close(s); /* checkpoint: the log restarts empty */
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit rl = { 4096, 4096 };
		struct store *c = open_store();
		struct err e = { 0 };
		char val[512];
		memset(val, 'x', sizeof(val));
		setrlimit(RLIMIT_FSIZE, &rl);
		int ok = 0, nospc = 0;
		for (int i = 0; i < 30; i++) {
			snprintf(k, sizeof(k), "/g/%02d", i);
			int rc = store_put(c, k, val, sizeof(val), NULL, &e);
			if (rc == 0)
				ok++;
			else if (rc == -ENOSPC && strstr(e.msg, "write-ahead log"))
				nospc++;
			else
				_exit(10);
		}
		/* Reads still work; what was acknowledged is readable. */
		char *v = NULL;
		if (store_get(c, "/f/00", &v, NULL, NULL, NULL, &e) < 0)
			_exit(11);
		free(v);
		_exit(ok > 0 && nospc > 0 ? (ok & 0x3f) : 12);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	int acked = WEXITSTATUS(st);
	assert_true(acked > 0 && acked < 10);
	/* Reopened with room again: the acknowledged writes are all there, nothing else. */
	s = open_store();
	assert_int_equal(store_rev(s), 20 + (uint64_t)acked);
	char *all = range(s, "/g/", NULL, 0, 0, NULL);
	int n = 0;
	for (char *p = all; (p = strchr(p, ';')); p++)
		n++;
	assert_int_equal(n, acked);
	free(all);
	assert_value(s, "/f/19", 0, "before");
	put(s, "/after", "ok");
	store_close(s);
}

static bool can_mount(void)
{
	return geteuid() == 0 && !getenv("TUG_TEST_QEMU");
}

static void test_a_read_only_data_dir_gives_a_clear_error(void **state)
{
	if (!can_mount()) {
		skip();
		return;
	}
	char mnt[200];
	snprintf(mnt, sizeof(mnt), "%s/ro", dir);
	assert_int_equal(mkdir(mnt, 0700), 0);
	assert_int_equal(mount("tmpfs", mnt, "tmpfs", 0, "size=8m"), 0);
	char sub[256];
	snprintf(sub, sizeof(sub), "%s/db", mnt);
	struct store *s = NULL;
	struct err e = { 0 };
	struct store_opts o = { .dir = sub, .no_background = true };
	assert_int_equal(store_open(&s, &o, &e), 0);
	assert_int_equal(store_put(s, "/k", "v", 1, NULL, &e), 0);
	store_close(s);
	/* (A running store keeps its log open for writing, so the kernel refuses a plain
	 * remount read-only under it; the open path is what a user meets at boot.) */
	assert_int_equal(mount(NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
	/* Opening a store on it fails with a clear message. */
	int rc = store_open(&s, &o, &e);
	assert_true(rc < 0);
	assert_non_null(strstr(e.msg, "Read-only file system"));
	assert_int_equal(mount(NULL, mnt, NULL, MS_REMOUNT, "size=8m"), 0);
	assert_int_equal(store_open(&s, &o, &e), 0);
	assert_value(s, "/k", 0, "v");
	store_close(s);
	assert_int_equal(umount(mnt), 0);
}

/* --- volatile environment --------------------------------------------------------- */

static void test_volatile_kinds_live_apart_and_revisions_never_go_back(void **state)
{
	struct store *s = open_store_opts(true, 0);
	struct err e = { 0 };
	put(s, "/registry/pods/a", "p");
	for (int i = 0; i < 5; i++)
		put(s, "/registry/leases/node1", "beat");
	uint64_t last = put(s, "/registry/pods/b", "q");
	struct store_op mixed[] = {
		{ STORE_PUT, "/registry/pods/c", "1", 1, STORE_ANY },
		{ STORE_PUT, "/registry/leases/x", "1", 1, STORE_ANY },
	};
	assert_int_equal(store_txn(s, mixed, 2, NULL, &e), -EINVAL);
	char *all = range(s, "/registry/", NULL, 0, 0, NULL);
	assert_string_equal(all,
	                    "/registry/leases/node1=beat;/registry/pods/a=p;/registry/pods/b=q;");
	free(all);
	store_close(s);
	/* Still there after a restart with tmpfs intact. */
	s = open_store_opts(true, 0);
	assert_value(s, "/registry/leases/node1", 0, "beat");
	assert_int_equal(store_rev(s), last);
	store_close(s);
	/* A reboot wipes tmpfs: leases are gone, durable kinds stay, revisions move on. */
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", vdir);
	assert_int_equal(system(cmd), 0);
	s = open_store_opts(true, 0);
	assert_value(s, "/registry/leases/node1", 0, NULL);
	assert_value(s, "/registry/pods/b", 0, "q");
	assert_true(store_rev(s) >= last);
	uint64_t next = put(s, "/registry/leases/node1", "again");
	assert_true(next > last);
	store_close(s);
}

static void test_volatile_revisions_stay_ahead_after_a_crash_and_a_wipe(void **state)
{
	/* Volatile writes in a child that crashes; then tmpfs is wiped. */
	pid_t pid = fork();
	if (pid == 0) {
		struct store *c = open_store_opts(true, 0);
		for (int i = 0; i < 30; i++)
			if (store_put(c, "/registry/leases/n", "x", 1, NULL, NULL) < 0)
				_exit(1);
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", vdir);
	assert_int_equal(system(cmd), 0);
	struct store *s = open_store_opts(true, 0);
	assert_true(store_rev(s) >= 30);
	store_close(s);
}

/* --- watch --------------------------------------------------------------------------- */

struct evlog {
	struct buf b;
	size_t n;
	uint64_t last_rev;
	bool order_ok;
};

static int log_event(void *arg, const struct store_event *ev)
{
	struct evlog *l = arg;
	buf_printf(&l->b, "%c%llu:%s=%.*s", ev->type == STORE_PUT ? '+' : '-',
	           (unsigned long long)ev->rev, ev->key, (int)ev->val_len, ev->val ? ev->val : "");
	if (ev->prev_val)
		buf_printf(&l->b, "(was %.*s)", (int)ev->prev_val_len, ev->prev_val);
	buf_addc(&l->b, ' ');
	if (ev->rev < l->last_rev)
		l->order_ok = false;
	l->last_rev = ev->rev;
	l->n++;
	return 0;
}

static int notified;
static void on_notify(void *arg)
{
	__atomic_add_fetch(&notified, 1, __ATOMIC_SEQ_CST);
}

static void test_watch_replays_history_then_follows_live_writes(void **state)
{
	struct store *s = open_store();
	struct err e = { 0 };
	struct store_watch *w = NULL;
	struct evlog l = { .order_ok = true };
	put(s, "/w/a", "1");
	put(s, "/w/b", "1");
	put(s, "/x/other", "1");
	put(s, "/w/a", "2");
	assert_int_equal(store_checkpoint(s, &e), 0);
	assert_int_equal(store_delete(s, "/w/b", STORE_ANY, NULL, &e), 0);
	notified = 0;
	assert_int_equal(store_watch(s, "/w/", 1, on_notify, NULL, &w, &e), 0);
	assert_true(notified > 0);
	while (store_watch_poll(w, 2, log_event, &l) > 0)
		;
	assert_string_equal(l.b.data, "+2:/w/b=1 +4:/w/a=2(was 1) -5:/w/b=1(was 1) ");
	assert_int_equal(store_watch_rev(w), 5);
	/* Live. */
	buf_reset(&l.b);
	notified = 0;
	put(s, "/x/other", "2");
	assert_int_equal(notified, 0);
	assert_int_equal(store_watch_rev(w), 6); /* a caught-up watcher moves along */
	put(s, "/w/c", "new");
	assert_int_equal(notified, 1);
	put(s, "/w/c", "newer");
	assert_int_equal(notified, 1); /* not re-armed until drained */
	while (store_watch_poll(w, 0, log_event, &l) > 0)
		;
	assert_string_equal(l.b.data, "+7:/w/c=new +8:/w/c=newer(was new) ");
	store_watch_close(w);
	/* Watching from now sees only what comes next. */
	buf_reset(&l.b);
	assert_int_equal(store_watch(s, "/w/", 0, on_notify, NULL, &w, &e), 0);
	assert_int_equal(store_watch_poll(w, 0, log_event, &l), 0);
	put(s, "/w/d", "d");
	assert_int_equal(store_watch_poll(w, 0, log_event, &l), 1);
	assert_string_equal(l.b.data, "+9:/w/d=d ");
	store_watch_close(w);
	assert_int_equal(store_watch(s, "/w/", 100, on_notify, NULL, &w, &e), STORE_E_FUTURE);
	buf_free(&l.b);
	store_close(s);
}

static void test_watch_from_a_compacted_revision_is_gone(void **state)
{
	struct store *s = open_store();
	struct err e = { 0 };
	struct store_watch *w = NULL, *lag = NULL;
	struct evlog l = { .order_ok = true };
	for (int i = 0; i < 20; i++)
		put(s, "/k", "v");
	assert_int_equal(store_watch(s, "/k", 2, on_notify, NULL, &lag, &e), 0);
	assert_int_equal(store_compact(s, 10, &e), 0);
	assert_int_equal(store_watch(s, "/k", 9, on_notify, NULL, &w, &e), STORE_E_COMPACTED);
	assert_non_null(strstr(e.msg, "compacted"));
	assert_int_equal(store_watch(s, "/k", 10, on_notify, NULL, &w, &e), 0);
	while (store_watch_poll(w, 0, log_event, &l) > 0)
		;
	assert_int_equal(l.n, 10);
	store_watch_close(w);
	/* The watcher that fell behind compaction is told so. */
	assert_int_equal(store_watch_poll(lag, 0, log_event, &l), STORE_E_COMPACTED);
	store_watch_close(lag);
	buf_free(&l.b);
	store_close(s);
}

static void test_compaction_keeps_every_live_key_readable(void **state)
{
	struct store *s = open_store();
	struct err e = { 0 };
	char k[32];
	for (int round = 0; round < 5; round++)
		for (int i = 0; i < 300; i++) {
			snprintf(k, sizeof(k), "/c/%03d", i);
			put(s, k, round % 2 ? "odd" : "even");
		}
	for (int i = 0; i < 300; i += 3) {
		snprintf(k, sizeof(k), "/c/%03d", i);
		assert_int_equal(store_delete(s, k, STORE_ANY, NULL, &e), 0);
	}
	assert_int_equal(store_checkpoint(s, &e), 0);
	uint64_t r = store_rev(s);
	assert_int_equal(store_compact(s, r, &e), 0);
	/* Compaction runs in chunks: let it finish. */
	for (int i = 0; i < 10; i++)
		assert_int_equal(store_checkpoint(s, &e), 0);
	struct store_snap *sn = NULL;
	size_t count = 0;
	assert_int_equal(store_snap_begin(s, 0, &sn, NULL), 0);
	assert_int_equal(store_snap_count(sn, "/c/", &count), 0);
	store_snap_end(sn);
	assert_int_equal(count, 200);
	assert_value(s, "/c/001", 0, "even");
	assert_value(s, "/c/003", 0, NULL);
	store_close(s);
	s = open_store();
	assert_int_equal(store_compacted_rev(s), r);
	assert_value(s, "/c/299", 0, "even");
	put(s, "/c/001", "after");
	assert_value(s, "/c/001", 0, "after");
	store_close(s);
}

static void test_compaction_by_count_follows_the_policy(void **state)
{
	struct store *s = open_store_opts(false, 50);
	struct err e = { 0 };
	for (int i = 0; i < 200; i++)
		put(s, "/p", "v");
	assert_int_equal(store_compact_auto(s, &e), 0);
	assert_int_equal(store_compacted_rev(s), 150);
	store_close(s);
}

static void done_cb(void *arg, int rc, const struct store_result *res, const struct err *e)
{
	uint64_t *out = arg;
	__atomic_store_n(out, rc == 0 ? res->rev : 9999, __ATOMIC_SEQ_CST);
}

static void test_async_transactions_complete_through_the_callback(void **state)
{
	struct store *s = open_store();
	uint64_t rev = 0;
	struct store_op op = { STORE_PUT, "/async", "v", 1, STORE_ABSENT };
	store_txn_async(s, &op, 1, done_cb, &rev);
	for (int i = 0; i < 5000 && !__atomic_load_n(&rev, __ATOMIC_SEQ_CST); i++)
		usleep(1000);
	assert_int_equal(rev, 1);
	rev = 0;
	store_txn_async(s, &op, 1, done_cb, &rev);
	for (int i = 0; i < 5000 && !__atomic_load_n(&rev, __ATOMIC_SEQ_CST); i++)
		usleep(1000);
	assert_int_equal(rev, 9999); /* exists now */
	store_close(s);
}

/* --- concurrency ---------------------------------------------------------------------- */

struct writer_arg {
	struct store *s;
	int id, n;
};

static void *writer(void *p)
{
	struct writer_arg *a = p;
	char k[32], v[32];
	for (int i = 0; i < a->n; i++) {
		snprintf(k, sizeof(k), "/cw/%d/%d", a->id, i % 7);
		snprintf(v, sizeof(v), "%d", i);
		if (store_put(a->s, k, v, strlen(v), NULL, NULL) < 0)
			return (void *)1;
	}
	return NULL;
}

struct watcher_arg {
	struct store *s;
	struct store_watch *w;
	uint64_t want;
	uint64_t next; /* the revision expected next */
	size_t got;
	bool bad;
};

static int check_event(void *arg, const struct store_event *ev)
{
	struct watcher_arg *a = arg;
	if (ev->rev != a->next)
		a->bad = true;
	a->next = ev->rev + 1;
	a->got++;
	return 0;
}

static void *watcher(void *p)
{
	struct watcher_arg *a = p;
	while (a->next <= a->want && !a->bad) {
		int n = store_watch_poll(a->w, 50, check_event, a);
		if (n < 0) {
			a->bad = true;
			break;
		}
		if (n == 0)
			usleep(200);
	}
	return NULL;
}

static void test_concurrent_writers_and_a_watcher_see_every_revision_once_in_order(void **state)
{
	struct store *s = NULL;
	struct err e = { 0 };
	/* Background checkpoints every 20 ms so that the watcher crosses them. */
	struct store_opts o = { .dir = dir, .checkpoint_ms = 20 };
	assert_int_equal(store_open(&s, &o, &e), 0);
	int nw = 4, per = getenv("TUG_TEST_QEMU") ? 50 : 300;
	struct watcher_arg wa = { .s = s, .want = (uint64_t)(nw * per), .next = 1 };
	assert_int_equal(store_watch(s, "/cw/", 0, on_notify, NULL, &wa.w, &e), 0);
	pthread_t wt, th[8];
	struct writer_arg args[8];
	pthread_create(&wt, NULL, watcher, &wa);
	for (int i = 0; i < nw; i++) {
		args[i] = (struct writer_arg){ s, i, per };
		pthread_create(&th[i], NULL, writer, &args[i]);
	}
	for (int i = 0; i < nw; i++) {
		void *r;
		pthread_join(th[i], &r);
		assert_null(r);
	}
	pthread_join(wt, NULL);
	assert_false(wa.bad);
	assert_int_equal(wa.got, (size_t)(nw * per));
	struct store_stats st;
	store_get_stats(s, &st);
	assert_int_equal(st.txns, (uint64_t)(nw * per));
	/* Group commit: fewer syncs than transactions. */
	assert_true(st.syncs < st.txns);
	store_watch_close(wa.w);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_write_takes_the_next_revision, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_create_fails_when_the_key_exists, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_update_with_a_stale_revision_is_rejected,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_guarded_writes_of_missing_keys_are_not_found,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_new_incarnation_after_delete_gets_a_new_create_revision, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_transactions_apply_all_or_nothing_at_one_revision, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_keys_and_oversized_values_are_refused,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_range_pages_stay_consistent_at_the_first_pages_revision, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_reads_merge_the_log_and_the_checkpointed_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reads_outside_the_kept_history_fail_clearly,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_writes_survive_a_crash_through_the_log, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_a_torn_log_tail_is_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_damage_in_the_middle_of_the_log_is_refused_not_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_foreign_or_garbage_database_files_are_refused_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_full_disk_fails_writes_clearly_and_loses_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_read_only_data_dir_gives_a_clear_error,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_volatile_kinds_live_apart_and_revisions_never_go_back, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_volatile_revisions_stay_ahead_after_a_crash_and_a_wipe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_replays_history_then_follows_live_writes,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_from_a_compacted_revision_is_gone, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_compaction_keeps_every_live_key_readable,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_by_count_follows_the_policy, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(
		    test_async_transactions_complete_through_the_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_concurrent_writers_and_a_watcher_see_every_revision_once_in_order, setup,
		    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
