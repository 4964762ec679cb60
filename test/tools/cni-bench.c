/* cni-bench: times ADD+DEL cycles of CNI plugins and measures their memory, side by side in
 * one run, the way a runtime executes them (config on stdin, result read to EOF).
 *
 *   cni-bench --node-netns PATH [--cycles N] [--warmup N] [--traced N]
 *             --plugin LABEL,BINARY,CONF,POD_NETNS [--plugin ...]
 *
 * Runs inside the node namespace (the plugins' "host"). Plugins alternate cycle by cycle
 * so that load from other work on the machine hits them alike. Figures:
 * - wall time of ADD, DEL and the cycle, medians;
 * - CPU time of everything a plugin ran (helpers it left behind and the IPAM plugin the
 *   reference bridge executes included), from a cpuacct or v2 cgroup per plugin: the
 *   load of a shared machine bends it far less than wall time;
 * - memory, exactly, from --traced runs in which every process is stopped as it exits
 *   and /proc gives its private memory (anonymous pages and page tables) and its peak
 *   resident set;
 * - the peak memory charged to a memory cgroup per plugin, a cross-check: the kernel
 *   charges in per-CPU batches of 64 pages, so it is only good to 256 KiB.
 * (getrusage's maxrss is not used: it keeps the forked child's size from before exec.) */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <getopt.h>
#include <libgen.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "core/util/util.h"

#define MAX_PLUGINS 4

struct sample {
	double ms;
	long charged_kb; /* -1: no cgroup */
};

struct plugin {
	const char *label, *bin, *conf_path, *netns;
	char *conf;
	char cni_path[4096];
	struct sample *add, *del;
	double *cycle;
	int fails;
	double *priv_add, *priv_del, *hwm_add, *hwm_del; /* traced runs, KB */
	int traced;
	char mem_cg[4096]; /* "" when none */
	char cpu_cg[4096];
	double cpu_ms; /* CPU time of all runs, from cpu_cg; <0: unknown */
	int runs;
};

/* Where our own cgroups are: v1 memory and cpuacct hierarchies, or the v2 one. */
static struct {
	bool v1;
	char mem_root[4096], cpu_root[4096];
} cg;

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = write_all(fd, s, strlen(s));
	close(fd);
	return rc;
}

static long long read_ll(const char *path, const char *key)
{
	char *s = NULL, *p;
	long long v = -1;
	if (read_file(path, &s, NULL, 65536) < 0)
		return -1;
	p = s;
	if (key) {
		p = strstr(s, key);
		p = p ? p + strlen(key) : NULL;
	}
	if (p)
		v = strtoll(p, NULL, 10);
	free(s);
	return v;
}

static void cg_file(char *out, size_t cap, const char *dir, const char *file)
{
	snprintf(out, cap, "%s/%s", dir, file);
}

/* Finds our own cgroups: v1 "memory" and "cpuacct" lines, or v2 "0::". */
static void cg_find(void)
{
	char *self = NULL, *line, *save = NULL, *mem = NULL, *cpu = NULL, *v2 = NULL;
	if (read_file("/proc/self/cgroup", &self, NULL, 65536) < 0)
		return;
	for (line = strtok_r(self, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		if (!strcmp(c1 + 1, "memory"))
			mem = c2 + 1;
		else if (strstr(c1 + 1, "cpuacct"))
			cpu = c2 + 1;
		else if (!strncmp(line, "0:", 2) && c1[1] == '\0')
			v2 = c2 + 1;
	}
	if (mem) {
		cg.v1 = true;
		snprintf(cg.mem_root, sizeof(cg.mem_root), "/sys/fs/cgroup/memory%s",
		         strcmp(mem, "/") ? mem : "");
		if (cpu)
			snprintf(cg.cpu_root, sizeof(cg.cpu_root), "/sys/fs/cgroup/cpuacct%s",
			         strcmp(cpu, "/") ? cpu : "");
	} else if (v2) {
		snprintf(cg.mem_root, sizeof(cg.mem_root), "/sys/fs/cgroup%s",
		         strcmp(v2, "/") ? v2 : "");
		snprintf(cg.cpu_root, sizeof(cg.cpu_root), "%s", cg.mem_root);
	}
	free(self);
}

/* Makes dir under root when it offers file; leaves dir empty otherwise. */
static void cg_make(char *dir, size_t cap, const char *root, const char *label, const char *file)
{
	char p[4200];
	dir[0] = '\0';
	if (!root[0])
		return;
	snprintf(dir, cap, "%s/tcni-bench-%d-%s", root, (int)getpid(), label);
	cg_file(p, sizeof(p), dir, file);
	if ((mkdir(dir, 0755) < 0 && errno != EEXIST) || access(p, F_OK) < 0) {
		rmdir(dir);
		dir[0] = '\0';
	}
}

static void cg_setup(struct plugin *p)
{
	cg_make(p->mem_cg, sizeof(p->mem_cg), cg.mem_root, p->label,
	        cg.v1 ? "memory.max_usage_in_bytes" : "memory.peak");
	/* In v2 both figures come from one cgroup. */
	if (!cg.v1 && p->mem_cg[0])
		memcpy(p->cpu_cg, p->mem_cg, sizeof(p->cpu_cg));
	else
		cg_make(p->cpu_cg, sizeof(p->cpu_cg), cg.cpu_root, p->label,
		        cg.v1 ? "cpuacct.usage" : "cpu.stat");
}

static bool cg_empty(const char *dir)
{
	char p[4200], *s = NULL;
	bool empty = true;
	cg_file(p, sizeof(p), dir, "cgroup.procs");
	if (read_file(p, &s, NULL, 65536) == 0) {
		empty = s[0] == '\0';
		free(s);
	}
	return empty;
}

/* Reads the CPU time of every run (helpers left behind finish first), and removes the
 * cgroups. */
static void cg_teardown(struct plugin *p)
{
	char f[4200];
	const char *dirs[2] = { p->cpu_cg, p->mem_cg };

	p->cpu_ms = -1;
	for (int i = 0; i < 2; i++) {
		for (int k = 0; dirs[i][0] && k < 200 && !cg_empty(dirs[i]); k++)
			usleep(20000);
	}
	if (p->cpu_cg[0]) {
		cg_file(f, sizeof(f), p->cpu_cg, cg.v1 ? "cpuacct.usage" : "cpu.stat");
		long long v = read_ll(f, cg.v1 ? NULL : "usage_usec ");
		if (v >= 0)
			p->cpu_ms = cg.v1 ? (double)v / 1e6 : (double)v / 1e3;
	}
	/* An emptied cgroup can still be busy for a moment while the kernel lets go. */
	for (int i = 0; i < 2; i++) {
		for (int k = 0; dirs[i][0] && k < 100 && rmdir(dirs[i]) < 0 && errno == EBUSY; k++)
			usleep(20000);
	}
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/*
 * Runs one plugin command to completion: exit and EOF on stdout, as Go's os/exec waits
 * for both. Returns the exit status; fills s and *out (the stdout text, caller frees).
 */
static int exec_plugin(struct plugin *p, const char *cmd, const char *id, const char *conf,
                       struct sample *s, char **out)
{
	char env_cmd[64], env_id[256], env_ns[4200], env_path[4200], usage[4200], peak[4200];
	char *envp[] = { env_cmd,  env_id,
		         env_ns,   "CNI_IFNAME=eth0",
		         env_path, "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		         NULL };
	char *argv0 = xstrdup(p->bin), *argv[] = { basename(argv0), NULL };
	int in[2], outp[2], status = 0;
	long base = 0;
	struct rusage ru;
	struct buf b = { 0 };

	snprintf(env_cmd, sizeof(env_cmd), "CNI_COMMAND=%s", cmd);
	snprintf(env_id, sizeof(env_id), "CNI_CONTAINERID=%s", id);
	snprintf(env_ns, sizeof(env_ns), "CNI_NETNS=%s", p->netns);
	snprintf(env_path, sizeof(env_path), "CNI_PATH=%s", p->cni_path);
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0) {
		perror("pipe");
		exit(2);
	}
	s->charged_kb = -1;
	if (p->mem_cg[0]) {
		cg_file(usage, sizeof(usage), p->mem_cg,
		        cg.v1 ? "memory.usage_in_bytes" : "memory.current");
		cg_file(peak, sizeof(peak), p->mem_cg,
		        cg.v1 ? "memory.max_usage_in_bytes" : "memory.peak");
		/* Resets the peak to the current usage (v2: kernels since 6.12). */
		write_str(peak, "0");
		base = (long)read_ll(usage, NULL);
	}
	double t0 = now_ms();
	pid_t pid = fork();
	if (pid == 0) {
		char procs[4200];
		if (p->mem_cg[0]) {
			cg_file(procs, sizeof(procs), p->mem_cg, "cgroup.procs");
			write_str(procs, "0");
		}
		if (p->cpu_cg[0] && strcmp(p->cpu_cg, p->mem_cg) != 0) {
			cg_file(procs, sizeof(procs), p->cpu_cg, "cgroup.procs");
			write_str(procs, "0");
		}
		dup2(in[0], 0);
		dup2(outp[1], 1);
		execve(p->bin, argv, envp);
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	write_all(in[1], conf, strlen(conf));
	close(in[1]);
	for (;;) {
		buf_reserve(&b, 4096);
		ssize_t n = read(outp[0], b.data + b.len, b.cap - b.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		b.len += (size_t)n;
		b.data[b.len] = '\0';
	}
	close(outp[0]);
	while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	s->ms = now_ms() - t0;
	if (p->mem_cg[0]) {
		long pk = (long)read_ll(peak, NULL);
		s->charged_kb = pk >= base && base >= 0 ? (pk - base) / 1024 : -1;
	}
	p->runs++;
	free(argv0);
	*out = b.data ? buf_steal(&b) : xstrdup("");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/*
 * Exact memory of one run, every process of it: each is stopped as it exits
 * (PTRACE_O_TRACEEXIT), while its address space still exists, and /proc tells its peak
 * resident set (VmHWM) and its private memory (RssAnon + VmPTE: anonymous pages and
 * page tables, what the process cost the machine beyond shared files). Threads, and
 * helpers that share an address space (CLONE_VM without exec), are counted once, via
 * kcmp. *priv_kb sums the processes (they overlap in time, so this is the upper bound
 * of what they held together); *hwm_kb is the largest single VmHWM.
 */
struct tracee {
	pid_t pid;
	bool shares_mm; /* a thread, or a CLONE_VM child that has not exec'd */
};

static long status_kb(pid_t pid, const char *key)
{
	char path[64], *s = NULL, *p;
	long v = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_file(path, &s, NULL, 65536) < 0)
		return 0;
	if ((p = strstr(s, key)))
		v = strtol(p + strlen(key), NULL, 10);
	free(s);
	return v;
}

static int traced_run(struct plugin *p, const char *cmd, const char *id, const char *conf,
                      double *priv_kb, double *hwm_kb, char **out)
{
	char env_cmd[64], env_id[256], env_ns[4200], env_path[4200];
	char *envp[] = { env_cmd,  env_id,
		         env_ns,   "CNI_IFNAME=eth0",
		         env_path, "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		         NULL };
	char *argv0 = xstrdup(p->bin), *argv[] = { basename(argv0), NULL };
	struct tracee *t = NULL;
	size_t nt = 0, live = 0;
	int in[2], outp[2], status = 0, rc = -1;
	struct buf b = { 0 };

	snprintf(env_cmd, sizeof(env_cmd), "CNI_COMMAND=%s", cmd);
	snprintf(env_id, sizeof(env_id), "CNI_CONTAINERID=%s", id);
	snprintf(env_ns, sizeof(env_ns), "CNI_NETNS=%s", p->netns);
	snprintf(env_path, sizeof(env_path), "CNI_PATH=%s", p->cni_path);
	*priv_kb = *hwm_kb = 0;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0)
		exit(2);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(outp[1], 1);
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		execve(p->bin, argv, envp);
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	/* The config and the result fit the pipes: no need to pump them while tracing. */
	write_all(in[1], conf, strlen(conf));
	close(in[1]);
	t = xcalloc(1, sizeof(*t));
	t[nt++] = (struct tracee){ pid, false };
	live = 1;
	bool first = true;
	while (live > 0) {
		int st;
		pid_t w = waitpid(-1, &st, __WALL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		size_t i;
		for (i = 0; i < nt && t[i].pid != w; i++)
			;
		if (i == nt) { /* a new tracee may report before its parent's event */
			t = xrealloc(t, (nt + 1) * sizeof(*t));
			t[nt++] = (struct tracee){ w, false };
			live++;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			live--;
			if (w == pid)
				status = st;
			continue;
		}
		if (!WIFSTOPPED(st))
			continue;
		int sig = WSTOPSIG(st), ev = st >> 16, deliver = 0;
		if (first && w == pid) {
			ptrace(PTRACE_SETOPTIONS, pid, NULL,
			       PTRACE_O_TRACEEXIT | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
			           PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL);
			first = false;
		} else if (ev == PTRACE_EVENT_FORK || ev == PTRACE_EVENT_VFORK ||
		           ev == PTRACE_EVENT_CLONE) {
			unsigned long child = 0;
			ptrace(PTRACE_GETEVENTMSG, w, NULL, &child);
			size_t j;
			for (j = 0; j < nt && t[j].pid != (pid_t)child; j++)
				;
			if (j == nt) {
				t = xrealloc(t, (nt + 1) * sizeof(*t));
				t[nt++] = (struct tracee){ (pid_t)child, false };
				live++;
			}
			t[j].shares_mm = syscall(SYS_kcmp, w, (pid_t)child, KCMP_VM, 0, 0) == 0;
		} else if (ev == PTRACE_EVENT_EXEC) {
			t[i].shares_mm = false; /* a vfork child that exec'd has its own now */
		} else if (ev == PTRACE_EVENT_EXIT) {
			if (!t[i].shares_mm && status_kb(w, "Tgid:") == w) {
				*priv_kb +=
				    (double)(status_kb(w, "RssAnon:") + status_kb(w, "VmPTE:"));
				*hwm_kb = MAX(*hwm_kb, (double)status_kb(w, "VmHWM:"));
			}
		} else if (ev == 0 && sig != SIGTRAP && sig != SIGSTOP) {
			deliver = sig;
		}
		ptrace(PTRACE_CONT, w, NULL, (void *)(long)deliver);
	}
	for (;;) {
		buf_reserve(&b, 4096);
		ssize_t n = read(outp[0], b.data + b.len, b.cap - b.len - 1);
		if (n <= 0)
			break;
		b.len += (size_t)n;
		b.data[b.len] = '\0';
	}
	close(outp[0]);
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	free(t);
	free(argv0);
	*out = b.data ? buf_steal(&b) : xstrdup("");
	return rc;
}

/* The request a runtime sends for DEL: the config with the ADD result as prevResult. */
static char *with_prev(const char *conf, const char *result)
{
	cJSON *c = cJSON_Parse(conf), *r = cJSON_Parse(result);
	if (c && r)
		cJSON_AddItemToObject(c, "prevResult", r);
	else
		cJSON_Delete(r);
	char *s = c ? cJSON_PrintUnformatted(c) : xstrdup(conf);
	cJSON_Delete(c);
	return s;
}

static bool cycle(struct plugin *p, int i, bool keep)
{
	char id[64], *out = NULL, *dout = NULL;
	struct sample a, d;
	snprintf(id, sizeof(id), "bench-%s-%d", p->label, i);
	int rc = exec_plugin(p, "ADD", id, p->conf, &a, &out);
	char *delconf = with_prev(p->conf, out);
	int rc2 = exec_plugin(p, "DEL", id, delconf, &d, &dout);
	if (rc || rc2) {
		fprintf(stderr, "%s: cycle %d: ADD exit %d, DEL exit %d\n%s\n%s\n", p->label, i, rc,
		        rc2, out, dout);
		p->fails++;
	} else if (keep) {
		p->add[i] = a;
		p->del[i] = d;
		p->cycle[i] = a.ms + d.ms;
	}
	free(delconf);
	free(out);
	free(dout);
	return rc == 0 && rc2 == 0;
}

static void traced_cycle(struct plugin *p, int i)
{
	char id[64], *out = NULL, *dout = NULL;
	snprintf(id, sizeof(id), "bench-%s-traced-%d", p->label, i);
	int rc = traced_run(p, "ADD", id, p->conf, &p->priv_add[i], &p->hwm_add[i], &out);
	char *delconf = with_prev(p->conf, out);
	int rc2 = traced_run(p, "DEL", id, delconf, &p->priv_del[i], &p->hwm_del[i], &dout);
	if (rc || rc2) {
		fprintf(stderr, "%s: traced cycle %d: ADD exit %d, DEL exit %d\n", p->label, i, rc,
		        rc2);
		p->fails++;
	} else {
		p->traced++;
	}
	free(delconf);
	free(out);
	free(dout);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double pct(double *v, int n, double q)
{
	double *c = xmemdup(v, (size_t)n * sizeof(*v));
	qsort(c, (size_t)n, sizeof(*c), cmp_double);
	double r = c[(int)(q * (n - 1) + 0.5)];
	free(c);
	return r;
}

/* Median of a sample field: 0 the time, 1 the charged memory. */
static double med_field(struct sample *s, int n, int field)
{
	double *v = xcalloc((size_t)n, sizeof(*v));
	for (int i = 0; i < n; i++)
		v[i] = field == 0 ? s[i].ms : (double)s[i].charged_kb;
	double r = pct(v, n, 0.5);
	free(v);
	return r;
}

static double max_of(const double *v, int n)
{
	double m = 0;
	for (int i = 0; i < n; i++)
		m = MAX(m, v[i]);
	return m;
}

static double max_charged(const struct sample *s, int n)
{
	double m = 0;
	for (int i = 0; i < n; i++)
		m = MAX(m, (double)s[i].charged_kb);
	return m;
}

/* A run's figure is that of its larger operation. */
static double run_med(double *add, double *del, int n)
{
	return MAX(pct(add, n, 0.5), pct(del, n, 0.5));
}

int main(int argc, char **argv)
{
	struct plugin pl[MAX_PLUGINS];
	const char *node = NULL;
	int np = 0, cycles = 50, warmup = 5, traced = 10, c;
	static const struct option opts[] = {
		{ "node-netns", 1, NULL, 'n' }, { "cycles", 1, NULL, 'c' },
		{ "warmup", 1, NULL, 'w' },     { "plugin", 1, NULL, 'p' },
		{ "traced", 1, NULL, 't' },     { NULL, 0, NULL, 0 }
	};

	memset(pl, 0, sizeof(pl));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			node = optarg;
			break;
		case 'c':
			cycles = atoi(optarg);
			break;
		case 'w':
			warmup = atoi(optarg);
			break;
		case 't':
			traced = atoi(optarg);
			break;
		case 'p': {
			char *s = xstrdup(optarg), *save = NULL;
			if (np == MAX_PLUGINS)
				return 2;
			pl[np].label = strtok_r(s, ",", &save);
			pl[np].bin = strtok_r(NULL, ",", &save);
			pl[np].conf_path = strtok_r(NULL, ",", &save);
			pl[np].netns = strtok_r(NULL, ",", &save);
			if (!pl[np].netns) {
				fprintf(stderr, "--plugin LABEL,BINARY,CONF,POD_NETNS\n");
				return 2;
			}
			np++;
			break;
		}
		default:
			return 2;
		}
	}
	if (!node || np == 0 || cycles < 1) {
		fprintf(stderr, "usage: cni-bench --node-netns PATH [--cycles N] [--warmup N] "
		                "--plugin LABEL,BINARY,CONF,POD_NETNS...\n");
		return 2;
	}
	int nsfd = open(node, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "enter %s: %s\n", node, strerror(errno));
		return 2;
	}
	for (int i = 0; i < np; i++) {
		if (read_file(pl[i].conf_path, &pl[i].conf, NULL, 1 << 20) < 0) {
			fprintf(stderr, "read %s: %s\n", pl[i].conf_path, strerror(errno));
			return 2;
		}
		char *b = xstrdup(pl[i].bin);
		snprintf(pl[i].cni_path, sizeof(pl[i].cni_path), "%s", dirname(b));
		free(b);
		pl[i].add = xcalloc((size_t)cycles, sizeof(struct sample));
		pl[i].del = xcalloc((size_t)cycles, sizeof(struct sample));
		pl[i].cycle = xcalloc((size_t)cycles, sizeof(double));
		pl[i].priv_add = xcalloc((size_t)traced + 1, sizeof(double));
		pl[i].priv_del = xcalloc((size_t)traced + 1, sizeof(double));
		pl[i].hwm_add = xcalloc((size_t)traced + 1, sizeof(double));
		pl[i].hwm_del = xcalloc((size_t)traced + 1, sizeof(double));
	}
	cg_find();
	for (int k = 0; k < np; k++)
		cg_setup(&pl[k]);
	for (int i = 0; i < warmup; i++)
		for (int k = 0; k < np; k++)
			cycle(&pl[k], i, false);
	for (int i = 0; i < cycles; i++)
		for (int k = 0; k < np; k++)
			cycle(&pl[k], i, true);
	bool mem = true, cpu = true;
	for (int k = 0; k < np; k++)
		cg_teardown(&pl[k]);
	/* Tracing slows a run down: these runs come after the timed ones and only count
	 * memory. */
	for (int i = 0; i < traced; i++)
		for (int k = 0; k < np; k++)
			traced_cycle(&pl[k], i);
	for (int k = 0; k < np; k++) {
		mem &= pl[k].mem_cg[0] != '\0';
		cpu &= pl[k].cpu_ms >= 0 && pl[k].runs > 0;
	}

	bool tr = traced > 0;
	for (int k = 0; k < np; k++)
		tr &= pl[k].traced == traced;
	printf("wall time, median of %d cycles (ms)%s\n", cycles,
	       cpu ? "; CPU: every process of every run, per cycle" : "");
	printf("  %-10s %8s %8s %8s %8s %8s\n", "plugin", "ADD", "DEL", "cycle", "p90",
	       cpu ? "CPU" : "");
	for (int k = 0; k < np; k++) {
		struct plugin *p = &pl[k];
		printf("  %-10s %8.2f %8.2f %8.2f %8.2f", p->label, med_field(p->add, cycles, 0),
		       med_field(p->del, cycles, 0), pct(p->cycle, cycles, 0.5),
		       pct(p->cycle, cycles, 0.9));
		if (cpu)
			printf(" %8.2f", p->cpu_ms * 2 / p->runs);
		printf("\n");
	}
	if (tr) {
		printf("memory of a run from /proc, every process at its exit (KB): median [max], "
		       "%d runs\n",
		       traced);
		printf("  %-10s %16s %16s %16s %16s\n", "plugin", "private ADD", "private DEL",
		       "peak RSS ADD", "peak RSS DEL");
		for (int k = 0; k < np; k++) {
			struct plugin *p = &pl[k];
			double *v[4] = { p->priv_add, p->priv_del, p->hwm_add, p->hwm_del };
			printf("  %-10s", p->label);
			for (int f = 0; f < 4; f++)
				printf(" %8.0f [%5.0f]", pct(v[f], traced, 0.5),
				       max_of(v[f], traced));
			printf("\n");
		}
	}
	if (mem) {
		printf("peak memory charged to a cgroup (KB, to 256 KiB): median [max], %d runs\n",
		       cycles);
		printf("  %-10s %16s %16s\n", "plugin", "ADD", "DEL");
		for (int k = 0; k < np; k++) {
			struct plugin *p = &pl[k];
			printf("  %-10s %8.0f [%5.0f] %8.0f [%5.0f]\n", p->label,
			       med_field(p->add, cycles, 1), max_charged(p->add, cycles),
			       med_field(p->del, cycles, 1), max_charged(p->del, cycles));
		}
	}
	for (int k = 1; k < np; k++) {
		struct plugin *a = &pl[0], *b = &pl[k];
		double t0 = pct(a->cycle, cycles, 0.5), tk = pct(b->cycle, cycles, 0.5);
		printf("%s vs %s: ADD+DEL cycle %.1fx faster (%.2f vs %.2f ms)", a->label, b->label,
		       tk / t0, t0, tk);
		if (cpu)
			printf(", %.1fx less CPU (%.2f vs %.2f ms)",
			       (b->cpu_ms / b->runs) / (a->cpu_ms / a->runs),
			       a->cpu_ms * 2 / a->runs, b->cpu_ms * 2 / b->runs);
		if (tr) {
			double p0 = run_med(a->priv_add, a->priv_del, traced);
			double pk = run_med(b->priv_add, b->priv_del, traced);
			double h0 = run_med(a->hwm_add, a->hwm_del, traced);
			double hk = run_med(b->hwm_add, b->hwm_del, traced);
			printf("; private memory %.2f of it (%.0f vs %.0f KB); peak RSS of the "
			       "largest "
			       "process %.2f of it (%.0f vs %.0f KB)",
			       p0 / pk, p0, pk, h0 / hk, h0, hk);
		}
		printf("\n");
	}
	int fails = 0;
	for (int k = 0; k < np; k++) {
		struct plugin *p = &pl[k];
		if (p->fails)
			printf("%s: %d failed cycles\n", p->label, p->fails);
		fails += p->fails;
		free(p->add);
		free(p->del);
		free(p->cycle);
		free(p->priv_add);
		free(p->priv_del);
		free(p->hwm_add);
		free(p->hwm_del);
		free(p->conf);
		free((char *)p->label); /* the --plugin string it was cut from */
	}
	close(nsfd);
	return fails ? 1 : 0;
}
