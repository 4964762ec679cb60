/* loop_test: fds, timers in order, posting from threads, signals, child exits, stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/loop/loop.h"
#include "core/util/util.h"

struct rec {
	int order[8];
	int n;
};
static struct rec fired;

struct tmr {
	struct loop_timer t;
	int id;
};

static void on_timer(struct loop *l, struct loop_timer *t)
{
	struct tmr *x = container_of(t, struct tmr, t);
	fired.order[fired.n++] = x->id;
	if (x->id == 3)
		loop_stop(l);
}

static void test_timers_fire_in_due_order_and_disarm_works(void **state)
{
	struct loop *l = NULL;
	struct tmr a = { .id = 1 }, b = { .id = 2 }, c = { .id = 3 }, d = { .id = 4 };
	assert_int_equal(loop_new(&l), 0);
	memset(&fired, 0, sizeof(fired));
	loop_timer_init(&a.t, on_timer);
	loop_timer_init(&b.t, on_timer);
	loop_timer_init(&c.t, on_timer);
	loop_timer_init(&d.t, on_timer);
	loop_timer_arm(l, &c.t, 30);
	loop_timer_arm(l, &a.t, 10);
	loop_timer_arm(l, &b.t, 20);
	loop_timer_arm(l, &d.t, 15);
	loop_timer_disarm(l, &d.t);
	assert_false(loop_timer_armed(&d.t));
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(fired.n, 3);
	assert_int_equal(fired.order[0], 1);
	assert_int_equal(fired.order[1], 2);
	assert_int_equal(fired.order[2], 3);
	loop_free(l);
}

static int pipe_reads;
static void on_pipe(struct loop *l, int fd, uint32_t ev, void *arg)
{
	char buf[16];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n > 0)
		pipe_reads++;
	loop_del_fd(l, fd);
	loop_stop(l);
}

static void test_fd_readable_calls_handler_once_after_delete(void **state)
{
	struct loop *l = NULL;
	int p[2];
	assert_int_equal(loop_new(&l), 0);
	assert_int_equal(pipe(p), 0);
	pipe_reads = 0;
	assert_int_equal(loop_add_fd(l, p[0], EPOLLIN, on_pipe, NULL), 0);
	assert_int_equal(loop_add_fd(l, p[0], EPOLLIN, on_pipe, NULL), -EEXIST);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(pipe_reads, 1);
	close(p[0]);
	close(p[1]);
	loop_free(l);
}

static int posted;
static struct loop *post_loop;
static void on_post(void *arg)
{
	posted += (int)(intptr_t)arg;
	if (posted == 100 * 101 / 2)
		loop_stop(post_loop);
}

static void *poster(void *arg)
{
	for (int i = 1; i <= 100; i++)
		loop_post(post_loop, on_post, (void *)(intptr_t)i);
	return NULL;
}

static void test_work_posted_from_a_thread_runs_on_the_loop(void **state)
{
	pthread_t t;
	assert_int_equal(loop_new(&post_loop), 0);
	posted = 0;
	pthread_create(&t, NULL, poster, NULL);
	assert_int_equal(loop_run(post_loop), 0);
	pthread_join(t, NULL);
	assert_int_equal(posted, 5050);
	loop_free(post_loop);
}

static int child_status = -1;
static void on_child(struct loop *l, pid_t pid, int status, void *arg)
{
	child_status = status;
	loop_stop(l);
}

static void test_child_exit_is_reported_with_its_status(void **state)
{
	struct loop *l = NULL;
	assert_int_equal(loop_new(&l), 0);
	pid_t pid = fork();
	if (pid == 0)
		_exit(7);
	assert_int_equal(loop_watch_child(l, pid, on_child, NULL), 0);
	assert_int_equal(loop_run(l), 0);
	assert_true(WIFEXITED(child_status));
	assert_int_equal(WEXITSTATUS(child_status), 7);
	loop_free(l);
}

static int got_signal;
static void on_usr1(struct loop *l, int signo, void *arg)
{
	got_signal = signo;
	loop_stop(l);
}

static void test_signals_arrive_through_the_loop(void **state)
{
	struct loop *l = NULL;
	assert_int_equal(loop_new(&l), 0);
	assert_int_equal(loop_on_signal(l, SIGUSR1, on_usr1, NULL), 0);
	kill(getpid(), SIGUSR1);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(got_signal, SIGUSR1);
	loop_free(l);
}

static void *stopper(void *arg)
{
	usleep(20000);
	loop_stop(arg);
	return NULL;
}

static void test_stop_from_another_thread_wakes_the_loop(void **state)
{
	struct loop *l = NULL;
	pthread_t t;
	assert_int_equal(loop_new(&l), 0);
	pthread_create(&t, NULL, stopper, l);
	assert_int_equal(loop_run(l), 0);
	pthread_join(t, NULL);
	assert_true(loop_stopping(l));
	loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_fire_in_due_order_and_disarm_works),
		cmocka_unit_test(test_fd_readable_calls_handler_once_after_delete),
		cmocka_unit_test(test_work_posted_from_a_thread_runs_on_the_loop),
		cmocka_unit_test(test_child_exit_is_reported_with_its_status),
		cmocka_unit_test(test_signals_arrive_through_the_loop),
		cmocka_unit_test(test_stop_from_another_thread_wakes_the_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
