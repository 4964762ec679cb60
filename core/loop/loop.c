/* loop: epoll plus a binary heap of timers, a signalfd for signals and child exits, and an
 * eventfd that other threads use to hand work to the loop's thread. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOG_TAG "loop"
#include "core/log/log.h"
#include "core/loop/loop.h"
#include "core/util/util.h"

struct fd_handler {
	loop_fd_fn fn;
	void *arg;
	uint32_t gen; /* bumped on del so a stale epoll event for a reused fd is dropped */
	bool used;
};

struct sig_handler {
	loop_signal_fn fn;
	void *arg;
};

struct child {
	pid_t pid;
	loop_child_fn fn;
	void *arg;
};

struct post {
	loop_post_fn fn;
	void *arg;
	struct post *next;
};

struct loop {
	int epfd, sigfd, evfd;
	bool stop;
	uint64_t now_ms;

	struct fd_handler *fds;
	size_t nfds;

	struct loop_timer **heap; /* 1-based binary min-heap on due_ms */
	size_t heap_len, heap_cap;

	struct sig_handler sigs[65];
	sigset_t sigmask;

	struct child *children;
	size_t nchildren, children_cap;

	pthread_mutex_t post_lock;
	struct post *post_head, *post_tail;
};

/* epoll's data carries fd and generation so deleted handlers never run. */
static uint64_t pack(int fd, uint32_t gen)
{
	return ((uint64_t)gen << 32) | (uint32_t)fd;
}

static void on_signalfd(struct loop *l, int fd, uint32_t events, void *arg);
static void on_eventfd(struct loop *l, int fd, uint32_t events, void *arg);

int loop_new(struct loop **out)
{
	struct loop *l = xcalloc(1, sizeof(*l));
	int rc;

	l->epfd = l->sigfd = l->evfd = -1;
	pthread_mutex_init(&l->post_lock, NULL);
	l->now_ms = time_mono_ms();
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&l->sigmask);
	sigaddset(&l->sigmask, SIGCHLD);
	sigaddset(&l->sigmask, SIGTERM);
	sigaddset(&l->sigmask, SIGINT);
	sigaddset(&l->sigmask, SIGHUP);
	sigaddset(&l->sigmask, SIGUSR1);
	if (pthread_sigmask(SIG_BLOCK, &l->sigmask, NULL) != 0) {
		rc = -EINVAL;
		goto fail;
	}
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->sigfd = signalfd(-1, &l->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->epfd < 0 || l->sigfd < 0 || l->evfd < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = loop_add_fd(l, l->sigfd, EPOLLIN, on_signalfd, NULL)) < 0 ||
	    (rc = loop_add_fd(l, l->evfd, EPOLLIN, on_eventfd, NULL)) < 0)
		goto fail;
	*out = l;
	return 0;
fail:
	loop_free(l);
	return rc;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	/* Work posted but never run is dropped; its owners are gone too. */
	struct post *p = l->post_head;
	while (p) {
		struct post *n = p->next;
		free(p);
		p = n;
	}
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->sigfd >= 0)
		close(l->sigfd);
	if (l->evfd >= 0)
		close(l->evfd);
	pthread_mutex_destroy(&l->post_lock);
	free(l->fds);
	free(l->heap);
	free(l->children);
	free(l);
}

/* --- fds ------------------------------------------------------------------- */

int loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_fn fn, void *arg)
{
	if (fd < 0)
		return -EBADF;
	if ((size_t)fd >= l->nfds) {
		size_t n = l->nfds ? l->nfds : 64;
		while (n <= (size_t)fd)
			n *= 2;
		l->fds = xrealloc(l->fds, n * sizeof(*l->fds));
		memset(l->fds + l->nfds, 0, (n - l->nfds) * sizeof(*l->fds));
		l->nfds = n;
	}
	struct fd_handler *h = &l->fds[fd];
	if (h->used)
		return -EEXIST;
	struct epoll_event ev = { .events = events, .data.u64 = pack(fd, h->gen) };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	h->fn = fn;
	h->arg = arg;
	h->used = true;
	return 0;
}

int loop_mod_fd(struct loop *l, int fd, uint32_t events)
{
	if (fd < 0 || (size_t)fd >= l->nfds || !l->fds[fd].used)
		return -ENOENT;
	struct epoll_event ev = { .events = events, .data.u64 = pack(fd, l->fds[fd].gen) };
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	return 0;
}

int loop_del_fd(struct loop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nfds || !l->fds[fd].used)
		return -ENOENT;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	l->fds[fd].used = false;
	l->fds[fd].gen++;
	return 0;
}

/* --- timers ---------------------------------------------------------------- */

static void heap_set(struct loop *l, size_t i, struct loop_timer *t)
{
	l->heap[i] = t;
	t->heap_idx = i;
}

static void heap_up(struct loop *l, size_t i)
{
	struct loop_timer *t = l->heap[i];
	while (i > 1 && l->heap[i / 2]->due_ms > t->due_ms) {
		heap_set(l, i, l->heap[i / 2]);
		i /= 2;
	}
	heap_set(l, i, t);
}

static void heap_down(struct loop *l, size_t i)
{
	struct loop_timer *t = l->heap[i];
	for (;;) {
		size_t c = i * 2;
		if (c > l->heap_len)
			break;
		if (c + 1 <= l->heap_len && l->heap[c + 1]->due_ms < l->heap[c]->due_ms)
			c++;
		if (l->heap[c]->due_ms >= t->due_ms)
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

void loop_timer_init(struct loop_timer *t, void (*fn)(struct loop *l, struct loop_timer *t))
{
	t->fn = fn;
	t->due_ms = 0;
	t->heap_idx = 0;
}

void loop_timer_disarm(struct loop *l, struct loop_timer *t)
{
	size_t i = t->heap_idx;
	if (!i)
		return;
	struct loop_timer *last = l->heap[l->heap_len--];
	t->heap_idx = 0;
	if (last == t)
		return;
	heap_set(l, i, last);
	heap_up(l, i);
	heap_down(l, last->heap_idx);
}

void loop_timer_arm(struct loop *l, struct loop_timer *t, uint64_t ms)
{
	loop_timer_disarm(l, t);
	t->due_ms = time_mono_ms() + ms;
	if (l->heap_len + 1 >= l->heap_cap) {
		l->heap_cap = l->heap_cap ? l->heap_cap * 2 : 32;
		l->heap = xrealloc(l->heap, l->heap_cap * sizeof(*l->heap));
	}
	l->heap[++l->heap_len] = t;
	t->heap_idx = l->heap_len;
	heap_up(l, l->heap_len);
}

static void run_timers(struct loop *l)
{
	uint64_t now = l->now_ms;
	while (l->heap_len && l->heap[1]->due_ms <= now) {
		struct loop_timer *t = l->heap[1];
		loop_timer_disarm(l, t);
		t->fn(l, t);
	}
}

static int next_timeout(struct loop *l)
{
	if (!l->heap_len)
		return -1;
	uint64_t due = l->heap[1]->due_ms, now = time_mono_ms();
	if (due <= now)
		return 0;
	return (int)MIN(due - now, (uint64_t)INT32_MAX);
}

/* --- signals and children ---------------------------------------------------- */

int loop_on_signal(struct loop *l, int signo, loop_signal_fn fn, void *arg)
{
	if (signo <= 0 || signo >= (int)ARRAY_SIZE(l->sigs))
		return -EINVAL;
	if (!sigismember(&l->sigmask, signo)) {
		sigaddset(&l->sigmask, signo);
		pthread_sigmask(SIG_BLOCK, &l->sigmask, NULL);
		if (signalfd(l->sigfd, &l->sigmask, 0) < 0)
			return -errno;
	}
	l->sigs[signo].fn = fn;
	l->sigs[signo].arg = arg;
	return 0;
}

int loop_watch_child(struct loop *l, pid_t pid, loop_child_fn fn, void *arg)
{
	if (l->nchildren == l->children_cap) {
		l->children_cap = l->children_cap ? l->children_cap * 2 : 8;
		l->children = xrealloc(l->children, l->children_cap * sizeof(*l->children));
	}
	l->children[l->nchildren++] = (struct child){ .pid = pid, .fn = fn, .arg = arg };
	/* The child may have exited before we watched it; SIGCHLD was already
	 * queued on the signalfd, so reaping happens on the next iteration. */
	return 0;
}

void loop_unwatch_child(struct loop *l, pid_t pid)
{
	for (size_t i = 0; i < l->nchildren; i++) {
		if (l->children[i].pid == pid) {
			l->children[i] = l->children[--l->nchildren];
			return;
		}
	}
}

/* Reaps only the children we watch: other code (posix_spawn + waitpid) may own the rest. */
static void reap_children(struct loop *l)
{
	for (size_t i = 0; i < l->nchildren;) {
		int status;
		pid_t r = waitpid(l->children[i].pid, &status, WNOHANG);
		if (r == l->children[i].pid || (r < 0 && errno == ECHILD)) {
			struct child c = l->children[i];
			l->children[i] = l->children[--l->nchildren];
			c.fn(l, c.pid, r < 0 ? -1 : status, c.arg);
			continue;
		}
		i++;
	}
}

static void on_signalfd(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;
	bool chld = false;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int signo = (int)si.ssi_signo;
		if (signo == SIGCHLD) {
			chld = true;
			continue;
		}
		if (signo > 0 && signo < (int)ARRAY_SIZE(l->sigs) && l->sigs[signo].fn)
			l->sigs[signo].fn(l, signo, l->sigs[signo].arg);
		else if (signo == SIGTERM || signo == SIGINT)
			loop_stop(l);
	}
	if (chld)
		reap_children(l);
}

/* --- work from other threads -------------------------------------------------- */

void loop_post(struct loop *l, loop_post_fn fn, void *arg)
{
	struct post *p = xmalloc(sizeof(*p));
	bool was_empty;
	uint64_t one = 1;

	p->fn = fn;
	p->arg = arg;
	p->next = NULL;
	pthread_mutex_lock(&l->post_lock);
	was_empty = l->post_head == NULL;
	if (l->post_tail)
		l->post_tail->next = p;
	else
		l->post_head = p;
	l->post_tail = p;
	pthread_mutex_unlock(&l->post_lock);
	if (was_empty) {
		ssize_t w = write(l->evfd, &one, sizeof(one));
		(void)w;
	}
}

static void on_eventfd(struct loop *l, int fd, uint32_t events, void *arg)
{
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof(v));
	(void)r;
	pthread_mutex_lock(&l->post_lock);
	struct post *p = l->post_head;
	l->post_head = l->post_tail = NULL;
	pthread_mutex_unlock(&l->post_lock);
	while (p) {
		struct post *n = p->next;
		p->fn(p->arg);
		free(p);
		p = n;
	}
}

/* --- running ------------------------------------------------------------------ */

int loop_run_once(struct loop *l, int timeout_ms)
{
	struct epoll_event evs[64];
	int t = next_timeout(l);

	if (timeout_ms >= 0 && (t < 0 || timeout_ms < t))
		t = timeout_ms;
	int n = epoll_wait(l->epfd, evs, (int)ARRAY_SIZE(evs), t);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		return -errno;
	}
	l->now_ms = time_mono_ms();
	for (int i = 0; i < n; i++) {
		int fd = (int)(uint32_t)evs[i].data.u64;
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
		if ((size_t)fd >= l->nfds || !l->fds[fd].used || l->fds[fd].gen != gen)
			continue;
		l->fds[fd].fn(l, fd, evs[i].events, l->fds[fd].arg);
	}
	l->now_ms = time_mono_ms();
	run_timers(l);
	return 0;
}

/* Returns once loop_stop() was called (before or during the run); the flag stays set. */
int loop_run(struct loop *l)
{
	int rc = 0;
	while (!loop_stopping(l)) {
		if ((rc = loop_run_once(l, -1)) < 0) {
			log_error("epoll_wait: %s", strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* Callable from any thread: the eventfd wakes the loop's epoll_wait. */
void loop_stop(struct loop *l)
{
	uint64_t one = 1;
	__atomic_store_n(&l->stop, true, __ATOMIC_RELEASE);
	ssize_t w = write(l->evfd, &one, sizeof(one));
	(void)w;
}

bool loop_stopping(const struct loop *l)
{
	return __atomic_load_n(&l->stop, __ATOMIC_ACQUIRE);
}

uint64_t loop_now_ms(struct loop *l)
{
	return l->now_ms;
}
