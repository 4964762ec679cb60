/* store_crash_test: a writer process is killed with SIGKILL at random points, many times;
 * after each reopen every acknowledged write is there and revisions never go back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/store/store.h"

#define THREADS 4
#define KEYS 10

static char dir[128];
static int ack_fd;

struct acked {
	uint64_t rev;
	int seq; /* -1: deleted */
};
static struct acked acked[THREADS][KEYS + 1];

static struct store *open_at(uint64_t checkpoint_ms)
{
	struct store *s = NULL;
	struct err e = { 0 };
	struct store_opts o = { .dir = dir, .checkpoint_ms = checkpoint_ms };
	if (store_open(&s, &o, &e) < 0)
		fail_msg("reopen: %s", e.msg);
	return s;
}

struct child_arg {
	struct store *s;
	int id;
	int start;
};

/* Each thread writes "t:seq" to its keys and reports every acknowledgement. */
static void *child_writer(void *p)
{
	struct child_arg *a = p;
	char k[32], v[32], line[64];
	for (int seq = a->start;; seq++) {
		int key = seq % KEYS;
		snprintf(k, sizeof(k), "/crash/%d/%d", a->id, key);
		uint64_t rev = 0;
		int rc;
		if (seq % 13 == 12) {
			/* Now and then a delete of the thread's spare key. */
			snprintf(k, sizeof(k), "/crash/%d/spare", a->id);
			rc = store_delete(a->s, k, STORE_ANY, &rev, NULL);
			if (rc == -ENOENT)
				rc = store_put(a->s, k, "s", 1, &rev, NULL);
			key = KEYS;
			if (rc == 0) {
				int n = snprintf(line, sizeof(line), "%d %d %d %llu\n", a->id, key,
				                 -2, (unsigned long long)rev);
				if (write(ack_fd, line, (size_t)n) != n)
					_exit(5);
			}
			continue;
		}
		snprintf(v, sizeof(v), "%d:%d", a->id, seq);
		rc = store_put(a->s, k, v, strlen(v), &rev, NULL);
		if (rc < 0)
			_exit(4);
		int n = snprintf(line, sizeof(line), "%d %d %d %llu\n", a->id, key, seq,
		                 (unsigned long long)rev);
		if (write(ack_fd, line, (size_t)n) != n)
			_exit(5);
	}
	return NULL;
}

static void run_child(int round)
{
	struct store *s = open_at(3);
	pthread_t th[THREADS];
	struct child_arg args[THREADS];
	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct child_arg){ s, i, round * 100000 };
		pthread_create(&th[i], NULL, child_writer, &args[i]);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	_exit(0);
}

static uint64_t max_acked;

static void record(char *buf, size_t n)
{
	char *line = buf, *nl;
	while ((nl = memchr(line, '\n', n - (size_t)(line - buf)))) {
		*nl = '\0';
		int id, key, seq;
		unsigned long long rev;
		if (sscanf(line, "%d %d %d %llu", &id, &key, &seq, &rev) == 4 && id >= 0 &&
		    id < THREADS && key >= 0 && key <= KEYS) {
			if (rev > acked[id][key].rev) {
				acked[id][key].rev = rev;
				acked[id][key].seq = seq;
			}
			if (rev > max_acked)
				max_acked = rev;
		}
		line = nl + 1;
	}
}

static void test_killed_writers_never_lose_acknowledged_writes(void **state)
{
	int rounds = getenv("TUG_TEST_QEMU") ? 8 : 40;
	uint64_t last_rev = 0, total_acked = 0;
	strcpy(dir, "/tmp/tug-crash-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	memset(acked, 0, sizeof(acked));

	for (int round = 1; round <= rounds; round++) {
		int p[2];
		assert_int_equal(pipe(p), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			ack_fd = p[1];
			run_child(round);
		}
		close(p[1]);
		/* Let it run a random while, reading acknowledgements, then kill it. */
		uint64_t deadline = time_mono_ms() + 5 + (uint64_t)(rand() % 80);
		static char buf[1 << 20];
		size_t have = 0;
		while (time_mono_ms() < deadline) {
			ssize_t r = read(p[0], buf + have, sizeof(buf) - have - 1);
			if (r <= 0)
				break;
			have += (size_t)r;
			char *last = memrchr(buf, '\n', have);
			if (last) {
				size_t used = (size_t)(last - buf) + 1;
				record(buf, used);
				memmove(buf, buf + used, have - used);
				have -= used;
			}
		}
		kill(pid, SIGKILL);
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		/* Acknowledgements already in the pipe count too: they were acknowledged. */
		for (;;) {
			ssize_t r = read(p[0], buf + have, sizeof(buf) - have - 1);
			if (r <= 0)
				break;
			have += (size_t)r;
		}
		char *last = have ? memrchr(buf, '\n', have) : NULL;
		if (last)
			record(buf, (size_t)(last - buf) + 1);
		close(p[0]);

		struct store *s = open_at(1000);
		uint64_t rev = store_rev(s);
		assert_true(rev >= max_acked);
		assert_true(rev >= last_rev);
		last_rev = rev;
		for (int t = 0; t < THREADS; t++) {
			for (int k = 0; k < KEYS; k++) {
				if (!acked[t][k].rev)
					continue;
				char key[32], *v = NULL;
				uint64_t mod = 0;
				snprintf(key, sizeof(key), "/crash/%d/%d", t, k);
				int rc = store_get(s, key, &v, NULL, &mod, NULL, NULL);
				if (rc != 0)
					fail_msg("round %d: acknowledged %s (rev %llu) is missing",
					         round, key, (unsigned long long)acked[t][k].rev);
				int vt, vseq;
				assert_int_equal(sscanf(v, "%d:%d", &vt, &vseq), 2);
				assert_int_equal(vt, t);
				if (mod == acked[t][k].rev)
					assert_int_equal(vseq, acked[t][k].seq);
				else if (mod < acked[t][k].rev || vseq < acked[t][k].seq)
					fail_msg("round %d: %s went back to rev %llu (acknowledged "
					         "%llu)",
					         round, key, (unsigned long long)mod,
					         (unsigned long long)acked[t][k].rev);
				free(v);
				total_acked++;
			}
		}
		store_close(s);
	}
	/* The test proved something only if writes were acknowledged. */
	assert_true(total_acked > 0);
	print_message("%d kills, revision %llu at the end\n", rounds, (unsigned long long)last_rev);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_killed_writers_never_lose_acknowledged_writes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
