/* cni-bench: times ADD+DEL cycles of CNI plugins and measures their peak memory, side by
 * side in one run, the way a runtime executes them (config on stdin, result read to EOF).
 *
 *   cni-bench --node-netns PATH --cycles N --warmup N
 *             --plugin LABEL,BINARY,CONF,POD_NETNS [--plugin ...]
 *
 * Runs inside the node namespace (the plugins' "host"). Plugins alternate cycle by
 * cycle so that noise from other work on the machine hits them alike. Peak memory is
 * reported two ways: the largest resident set of any one process the plugin ran
 * (getrusage, which covers the IPAM plugin the reference bridge executes), and, when
 * a memory cgroup can be made, the peak of all memory charged while the plugin ran:
 * every process of it together, page tables and the kernel objects it created. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "core/util/util.h"

#define MAX_PLUGINS 4

struct sample {
	double ms;
	long maxrss_kb;
	long charged_kb; /* -1: no cgroup */
};

struct plugin {
	const char *label, *bin, *conf_path, *netns;
	char *conf;
	char cni_path[4096];
	struct sample *add, *del;
	double *cycle;
	int fails;
};

/* A memory cgroup the plugin's processes run in, when the machine lets us make one. */
static struct {
	char dir[4096];
	bool v1;
	bool ok;
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

static long read_long(const char *path)
{
	char *s = NULL;
	long v = -1;
	if (read_file(path, &s, NULL, 4096) == 0) {
		v = strtol(s, NULL, 10);
		free(s);
	}
	return v;
}

static void cg_path(char *out, size_t cap, const char *file)
{
	snprintf(out, cap, "%s/%s", cg.dir, file);
}

/* Finds our own memory cgroup (v1 "memory" line, or v2 "0::") and makes a child. */
static void cg_setup(void)
{
	char *self = NULL, *line, *save = NULL, *v1 = NULL, *v2 = NULL;
	if (read_file("/proc/self/cgroup", &self, NULL, 65536) < 0)
		return;
	for (line = strtok_r(self, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		if (!strcmp(c1 + 1, "memory"))
			v1 = c2 + 1;
		else if (!strncmp(line, "0:", 2) && c1[1] == '\0')
			v2 = c2 + 1;
	}
	if (v1) {
		snprintf(cg.dir, sizeof(cg.dir), "/sys/fs/cgroup/memory%s/tcni-bench-%d",
		         strcmp(v1, "/") ? v1 : "", (int)getpid());
		cg.v1 = true;
	} else if (v2) {
		snprintf(cg.dir, sizeof(cg.dir), "/sys/fs/cgroup%s/tcni-bench-%d",
		         strcmp(v2, "/") ? v2 : "", (int)getpid());
	}
	free(self);
	if (!cg.dir[0] || mkdir(cg.dir, 0755) < 0)
		return;
	char p[4200];
	cg_path(p, sizeof(p), cg.v1 ? "memory.max_usage_in_bytes" : "memory.peak");
	cg.ok = access(p, F_OK) == 0;
	if (!cg.ok)
		rmdir(cg.dir);
}

static void cg_teardown(void)
{
	if (!cg.ok)
		return;
	/* A detached helper of the last DEL may still be inside for a moment. */
	for (int i = 0; i < 100 && rmdir(cg.dir) < 0 && errno == EBUSY; i++)
		usleep(20000);
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
	if (cg.ok) {
		cg_path(usage, sizeof(usage), "memory.usage_in_bytes");
		cg_path(peak, sizeof(peak), cg.v1 ? "memory.max_usage_in_bytes" : "memory.peak");
		if (cg.v1) {
			write_str(peak, "0"); /* resets the peak to the current usage */
			base = read_long(usage);
		} else {
			cg_path(usage, sizeof(usage), "memory.current");
			write_str(peak, "0"); /* kernels since 6.12 reset it; older ones refuse */
			base = read_long(usage);
		}
	}
	double t0 = now_ms();
	pid_t pid = fork();
	if (pid == 0) {
		if (cg.ok) {
			char procs[4200];
			cg_path(procs, sizeof(procs), "cgroup.procs");
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
	s->maxrss_kb = ru.ru_maxrss;
	if (cg.ok) {
		long pk = read_long(peak);
		s->charged_kb = pk >= base && base >= 0 ? (pk - base) / 1024 : -1;
	}
	free(argv0);
	*out = b.data ? buf_steal(&b) : xstrdup("");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
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

static double med_field(struct sample *s, int n, int field)
{
	double *v = xcalloc((size_t)n, sizeof(*v));
	for (int i = 0; i < n; i++)
		v[i] = field == 0   ? s[i].ms
		       : field == 1 ? (double)s[i].maxrss_kb
		                    : (double)s[i].charged_kb;
	double r = pct(v, n, 0.5);
	free(v);
	return r;
}

static double max_field(struct sample *a, struct sample *d, int n, int field)
{
	double m = 0;
	for (int i = 0; i < n; i++) {
		double x = field == 1 ? (double)a[i].maxrss_kb : (double)a[i].charged_kb;
		double y = field == 1 ? (double)d[i].maxrss_kb : (double)d[i].charged_kb;
		m = MAX(m, MAX(x, y));
	}
	return m;
}

int main(int argc, char **argv)
{
	struct plugin pl[MAX_PLUGINS];
	const char *node = NULL;
	int np = 0, cycles = 50, warmup = 5, c;
	static const struct option opts[] = { { "node-netns", 1, NULL, 'n' },
		                              { "cycles", 1, NULL, 'c' },
		                              { "warmup", 1, NULL, 'w' },
		                              { "plugin", 1, NULL, 'p' },
		                              { NULL, 0, NULL, 0 } };

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
	}
	cg_setup();
	for (int i = 0; i < warmup; i++)
		for (int k = 0; k < np; k++)
			cycle(&pl[k], i, false);
	for (int i = 0; i < cycles; i++)
		for (int k = 0; k < np; k++)
			cycle(&pl[k], i, true);
	cg_teardown();

	printf("time (ms, median of %d cycles):\n", cycles);
	printf("  %-10s %8s %8s %8s %8s\n", "plugin", "ADD", "DEL", "cycle", "p90");
	for (int k = 0; k < np; k++) {
		struct plugin *p = &pl[k];
		printf("  %-10s %8.2f %8.2f %8.2f %8.2f\n", p->label, med_field(p->add, cycles, 0),
		       med_field(p->del, cycles, 0), pct(p->cycle, cycles, 0.5),
		       pct(p->cycle, cycles, 0.9));
	}
	printf("peak memory per run (KB; median, and max of all runs):\n");
	printf("  %-10s %10s %10s %10s %10s %10s\n", "plugin", "RSS ADD", "RSS DEL", "RSS max",
	       cg.ok ? "chgd ADD" : "", cg.ok ? "chgd DEL" : "");
	for (int k = 0; k < np; k++) {
		struct plugin *p = &pl[k];
		printf("  %-10s %10.0f %10.0f %10.0f", p->label, med_field(p->add, cycles, 1),
		       med_field(p->del, cycles, 1), max_field(p->add, p->del, cycles, 1));
		if (cg.ok)
			printf(" %10.0f %10.0f  (max %.0f)", med_field(p->add, cycles, 2),
			       med_field(p->del, cycles, 2), max_field(p->add, p->del, cycles, 2));
		printf("\n");
	}
	for (int k = 1; k < np; k++) {
		double t0 = pct(pl[0].cycle, cycles, 0.5), tk = pct(pl[k].cycle, cycles, 0.5);
		/* A run's peak is its larger op; compare the typical run and the worst. */
		double r0 = MAX(med_field(pl[0].add, cycles, 1), med_field(pl[0].del, cycles, 1));
		double rk = MAX(med_field(pl[k].add, cycles, 1), med_field(pl[k].del, cycles, 1));
		printf(
		    "%s vs %s: ADD+DEL cycle %.1fx faster (%.2f vs %.2f ms); peak RSS %.2f of it "
		    "(%.0f vs %.0f KB)",
		    pl[0].label, pl[k].label, tk / t0, t0, tk, r0 / rk, r0, rk);
		if (cg.ok) {
			double c0 =
			    MAX(med_field(pl[0].add, cycles, 2), med_field(pl[0].del, cycles, 2));
			double ck =
			    MAX(med_field(pl[k].add, cycles, 2), med_field(pl[k].del, cycles, 2));
			double m0 = max_field(pl[0].add, pl[0].del, cycles, 2);
			double mk = max_field(pl[k].add, pl[k].del, cycles, 2);
			printf(
			    "; peak charged memory %.2f of it (%.0f vs %.0f KB; worst runs %.0f vs "
			    "%.0f KB: %.2f)",
			    c0 / ck, c0, ck, m0, mk, m0 / mk);
		}
		printf("\n");
	}
	int fails = 0;
	for (int k = 0; k < np; k++) {
		if (pl[k].fails)
			printf("%s: %d failed cycles\n", pl[k].label, pl[k].fails);
		fails += pl[k].fails;
	}
	return fails ? 1 : 0;
}
