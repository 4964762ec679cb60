/* loop: the one event loop of the process: fds (epoll), timers, signals, child exits and
 * work posted from other threads. Callbacks run on the loop's thread and must not block. */
#ifndef TUG_LOOP_H
#define TUG_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/types.h>

struct loop;

typedef void (*loop_fd_fn)(struct loop *l, int fd, uint32_t events, void *arg);
typedef void (*loop_signal_fn)(struct loop *l, int signo, void *arg);
/* status is as from waitpid(). */
typedef void (*loop_child_fn)(struct loop *l, pid_t pid, int status, void *arg);
typedef void (*loop_post_fn)(void *arg);

/*
 * A timer lives inside its owner's struct (no allocation per arm) and is
 * armed and disarmed any number of times. The owner disarms it before freeing.
 */
struct loop_timer {
	void (*fn)(struct loop *l, struct loop_timer *t);
	uint64_t due_ms; /* monotonic */
	size_t heap_idx; /* 0: not armed */
};

/*
 * Creates a loop. Blocks SIGCHLD, SIGTERM, SIGINT, SIGHUP and SIGUSR1 in the
 * calling thread (threads created afterwards inherit the mask) so that they
 * arrive through signalfd, and ignores SIGPIPE.
 */
int loop_new(struct loop **out);
void loop_free(struct loop *l);

/* Watch fd for EPOLLIN/EPOLLOUT/... One handler per fd. */
int loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_fn fn, void *arg);
int loop_mod_fd(struct loop *l, int fd, uint32_t events);
/* Safe to call from the fd's own callback; the callback is not called again. */
int loop_del_fd(struct loop *l, int fd);

void loop_timer_init(struct loop_timer *t, void (*fn)(struct loop *l, struct loop_timer *t));
/* (Re)arms t to fire once after ms milliseconds. */
void loop_timer_arm(struct loop *l, struct loop_timer *t, uint64_t ms);
void loop_timer_disarm(struct loop *l, struct loop_timer *t);
static inline bool loop_timer_armed(const struct loop_timer *t)
{
	return t->heap_idx != 0;
}

/* Calls fn when signo arrives (one handler per signal). */
int loop_on_signal(struct loop *l, int signo, loop_signal_fn fn, void *arg);

/* Calls fn once when pid (a child of ours) exits, after reaping it. */
int loop_watch_child(struct loop *l, pid_t pid, loop_child_fn fn, void *arg);
void loop_unwatch_child(struct loop *l, pid_t pid);

/* From any thread: run fn(arg) on the loop's thread soon. Never fails. */
void loop_post(struct loop *l, loop_post_fn fn, void *arg);

/* Runs until loop_stop(); returns 0, or a negative errno if epoll fails. */
int loop_run(struct loop *l);
/* Runs one iteration, waiting at most timeout_ms (-1: until something happens). */
int loop_run_once(struct loop *l, int timeout_ms);
void loop_stop(struct loop *l);
bool loop_stopping(const struct loop *l);

/* Monotonic milliseconds, refreshed once per iteration. */
uint64_t loop_now_ms(struct loop *l);

#endif
