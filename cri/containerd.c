/* containerd: writes a private containerd config under the data dir and runs containerd as
 * a supervised child of the loop, restarted with back-off whenever it exits (as k3s does). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOG_TAG "containerd"
#include "core/log/log.h"
#include "cri/cri.h"

#define STOP_GRACE_MS 10000
/* A run longer than this was healthy: the next restart starts from the shortest delay. */
#define HEALTHY_RUN_MS 60000

struct cri_containerd {
	struct loop *loop;
	char *bin, *config_path, *log_path, *pid_path, *endpoint;
	pid_t pid;
	uint64_t started_ms;
	unsigned starts;
	uint64_t delay_ms, delay_min, delay_max;
	struct loop_timer restart;
};

/* TOML basic strings: quote and escape what needs escaping. */
static void toml_str(struct buf *b, const char *s)
{
	buf_addc(b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_addc(b, '\\');
		if ((unsigned char)*s < 0x20)
			buf_printf(b, "\\u%04x", (unsigned char)*s);
		else
			buf_addc(b, *s);
	}
	buf_addc(b, '"');
}

static void kv(struct buf *b, const char *indent, const char *key, const char *val)
{
	buf_printf(b, "%s%s = ", indent, key);
	toml_str(b, val);
	buf_addc(b, '\n');
}

char *cri_containerd_config(const struct cri_containerd_opts *o)
{
	struct buf b = { 0 };
	_cleanup_free_ char *root = xasprintf("%s/containerd", o->data_dir);
	_cleanup_free_ char *state = xasprintf("%s/run/containerd", o->data_dir);
	_cleanup_free_ char *sock = xasprintf("%s/containerd.sock", state);
	_cleanup_free_ char *opt = xasprintf("%s/opt", root);
	_cleanup_free_ char *bin =
	    o->cni_bin_dir ? xstrdup(o->cni_bin_dir) : xasprintf("%s/cni/bin", o->data_dir);
	_cleanup_free_ char *conf =
	    o->cni_conf_dir ? xstrdup(o->cni_conf_dir) : xasprintf("%s/cni/net.d", o->data_dir);
	const char *cri = "[plugins.\"io.containerd.grpc.v1.cri\"";

	buf_adds(&b,
	         "# Written by tug at every start; edits are lost. containerd 1.6+ (config v2).\n"
	         "version = 2\n");
	kv(&b, "", "root", root);
	kv(&b, "", "state", state);
	/* Snapshotters we never use only slow the start down and log warnings. */
	buf_adds(&b, "disabled_plugins = [\"io.containerd.snapshotter.v1.aufs\", "
	             "\"io.containerd.snapshotter.v1.btrfs\", "
	             "\"io.containerd.snapshotter.v1.devmapper\", "
	             "\"io.containerd.snapshotter.v1.zfs\"]\n\n[grpc]\n");
	kv(&b, "  ", "address", sock);
	buf_adds(&b, "\n[debug]\n");
	kv(&b, "  ", "level", o->log_level ? o->log_level : "info");
	buf_adds(&b, "\n[plugins.\"io.containerd.internal.v1.opt\"]\n");
	kv(&b, "  ", "path", opt);
	buf_printf(&b, "\n%s]\n", cri);
	kv(&b, "  ", "sandbox_image", o->sandbox_image ? o->sandbox_image : CRI_PAUSE_IMAGE);
	/* Without it every RunPodSandbox fails where oom_score_adj may not be lowered
	 * (containers, LXC, hardened boards): "can't get final child's PID from pipe". */
	buf_adds(&b, "  restrict_oom_score_adj = true\n"
	             "  enable_selinux = false\n"
	             /* the streaming server for exec/attach/port-forward: loopback, any free
	                port, so several containerds on one machine do not collide */
	             "  stream_server_address = \"127.0.0.1\"\n"
	             "  stream_server_port = \"0\"\n");
	buf_printf(&b,
	           "\n%s.containerd]\n"
	           "  snapshotter = \"overlayfs\"\n"
	           "  default_runtime_name = \"runc\"\n",
	           cri);
	buf_printf(&b,
	           "\n%s.containerd.runtimes.runc]\n"
	           "  runtime_type = \"io.containerd.runc.v2\"\n",
	           cri);
	buf_printf(&b,
	           "\n%s.containerd.runtimes.runc.options]\n"
	           "  SystemdCgroup = false\n",
	           cri);
	buf_printf(&b, "\n%s.cni]\n", cri);
	kv(&b, "  ", "bin_dir", bin);
	kv(&b, "  ", "conf_dir", conf);
	if (o->registry_config_path) {
		/* hosts.toml files there name tug's registry mirror of the images dir */
		buf_printf(&b, "\n%s.registry]\n", cri);
		kv(&b, "  ", "config_path", o->registry_config_path);
	}
	return buf_steal(&b);
}

static void close_fds_from(int lowfd)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lowfd, ~0u, 0) == 0)
		return;
#endif
	long max = sysconf(_SC_OPEN_MAX);
	for (long fd = lowfd; fd < (max > 0 ? max : 1024); fd++)
		close((int)fd);
}

static void on_exit_child(struct loop *l, pid_t pid, int status, void *arg);

static int spawn(struct cri_containerd *cd)
{
	int logfd = open(cd->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0) {
		log_error("open %s: %s", cd->log_path, strerror(errno));
		return -errno;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int r = -errno;
		close(logfd);
		log_error("fork: %s", strerror(errno));
		return r;
	}
	if (pid == 0) {
		/* The child: plain signal state, its own session, stdio to the log, and gone
		 * if tug dies (so a restarted tug never finds a second containerd on the
		 * socket; containers live on in their shims either way). */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		setsid();
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		close_fds_from(3);
		execlp(cd->bin, cd->bin, "--config", cd->config_path, (char *)NULL);
		dprintf(2, "tug: exec %s: %s\n", cd->bin, strerror(errno));
		_exit(127);
	}
	close(logfd);
	cd->pid = pid;
	cd->starts++;
	cd->started_ms = loop_now_ms(cd->loop);
	char pidbuf[32];
	int n = snprintf(pidbuf, sizeof(pidbuf), "%d\n", (int)pid);
	write_file_atomic(cd->pid_path, pidbuf, (size_t)n, 0644);
	loop_watch_child(cd->loop, pid, on_exit_child, cd);
	log_info("started containerd (pid %d), config %s, log %s", (int)pid, cd->config_path,
	         cd->log_path);
	return 0;
}

static void on_restart(struct loop *l, struct loop_timer *t)
{
	struct cri_containerd *cd = container_of(t, struct cri_containerd, restart);
	if (spawn(cd) < 0) {
		loop_timer_arm(l, &cd->restart, cd->delay_ms);
		cd->delay_ms = MIN(cd->delay_ms * 2, cd->delay_max);
	}
}

static void on_exit_child(struct loop *l, pid_t pid, int status, void *arg)
{
	struct cri_containerd *cd = arg;
	uint64_t ran = loop_now_ms(l) - cd->started_ms;
	char how[64];

	if (status < 0)
		snprintf(how, sizeof(how), "exited");
	else if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "was killed by signal %d", WTERMSIG(status));
	else
		snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
	cd->pid = 0;
	unlink(cd->pid_path);
	if (ran > HEALTHY_RUN_MS)
		cd->delay_ms = cd->delay_min;
	log_warn("containerd (pid %d) %s after %llu ms; restarting in %llu ms (see %s)", (int)pid,
	         how, (unsigned long long)ran, (unsigned long long)cd->delay_ms, cd->log_path);
	loop_timer_arm(l, &cd->restart, cd->delay_ms);
	cd->delay_ms = MIN(cd->delay_ms * 2, cd->delay_max);
}

static void cd_free(struct cri_containerd *cd)
{
	free(cd->bin);
	free(cd->config_path);
	free(cd->log_path);
	free(cd->pid_path);
	free(cd->endpoint);
	free(cd);
}

int cri_containerd_start(struct loop *l, const struct cri_containerd_opts *o,
                         struct cri_containerd **out, struct err *e)
{
	struct cri_containerd *cd = xcalloc(1, sizeof(*cd));
	_cleanup_free_ char *root = xasprintf("%s/containerd", o->data_dir);
	_cleanup_free_ char *state = xasprintf("%s/run/containerd", o->data_dir);
	_cleanup_free_ char *config = NULL;
	struct sockaddr_un un;
	int r;

	cd->loop = l;
	cd->bin = xstrdup(o->containerd ? o->containerd : "containerd");
	cd->config_path = xasprintf("%s/config.toml", root);
	cd->log_path = xasprintf("%s/containerd.log", root);
	cd->pid_path = xasprintf("%s/containerd.pid", root);
	cd->endpoint = xasprintf("unix://%s/containerd.sock", state);
	cd->delay_min = o->restart_min_ms ? o->restart_min_ms : 1000;
	cd->delay_max = MAX(o->restart_max_ms ? o->restart_max_ms : 30000, cd->delay_min);
	cd->delay_ms = cd->delay_min;
	loop_timer_init(&cd->restart, on_restart);

	if (strlen(state) + strlen("/containerd.sock") >= sizeof(un.sun_path)) {
		r = err_set(e, -ENAMETOOLONG,
		            "containerd socket %s/containerd.sock: path too long for a unix socket "
		            "(use a shorter --data-dir)",
		            state);
		goto fail;
	}
	if ((r = mkdir_p(root, 0700)) < 0 || (r = mkdir_p(state, 0711)) < 0) {
		r = err_set(e, r, "create %s and %s: %s", root, state, strerror(-r));
		goto fail;
	}
	config = cri_containerd_config(o);
	if ((r = write_file_atomic(cd->config_path, config, strlen(config), 0600)) < 0) {
		r = err_set(e, r, "write %s: %s", cd->config_path, strerror(-r));
		goto fail;
	}
	if ((r = spawn(cd)) < 0) {
		r = err_set(e, r, "start %s: %s", cd->bin, strerror(-r));
		goto fail;
	}
	*out = cd;
	return 0;
fail:
	cd_free(cd);
	return r;
}

/* Runs with the loop stopped (at shutdown), so it may wait. */
void cri_containerd_stop(struct cri_containerd *cd)
{
	if (!cd)
		return;
	loop_timer_disarm(cd->loop, &cd->restart);
	if (cd->pid > 0) {
		pid_t pid = cd->pid;
		int status;
		loop_unwatch_child(cd->loop, pid);
		kill(pid, SIGTERM);
		uint64_t end = time_mono_ms() + STOP_GRACE_MS;
		pid_t w;
		while ((w = waitpid(pid, &status, WNOHANG)) == 0 && time_mono_ms() < end) {
			struct timespec ts = { 0, 20 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
		if (w == 0) {
			log_warn("containerd (pid %d) did not stop in %d s; killing it", (int)pid,
			         STOP_GRACE_MS / 1000);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
		log_info("stopped containerd (pid %d)", (int)pid);
		unlink(cd->pid_path);
	}
	cd_free(cd);
}

const char *cri_containerd_endpoint(const struct cri_containerd *cd)
{
	return cd->endpoint;
}

pid_t cri_containerd_pid(const struct cri_containerd *cd)
{
	return cd->pid;
}

unsigned cri_containerd_starts(const struct cri_containerd *cd)
{
	return cd->starts;
}
