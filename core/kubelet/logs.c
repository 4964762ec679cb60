/* logs: `kubectl logs` from the CRI log files ("<time> <stream> <P|F> <text>" lines under
 * /var/log/pods): container choice, --previous, --tail, --since, --timestamps, --limit-bytes,
 * and -f following the file (inotify) until the container exits, all without blocking. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_TAG "kubelet"
#include "core/http/http.h"
#include "core/kubelet/kubelet-internal.h"
#include "core/log/log.h"
#include "core/obj/obj.h"

#define CHUNK 65536
#define QUEUE_HIGH (512 * 1024)
#define FOLLOW_CHECK_MS 1000

bool kl_parse_logline(const char *line, size_t len, struct kl_logline *out)
{
	const char *end = line + len, *p = line;
	const char *sp = memchr(p, ' ', (size_t)(end - p));
	if (!sp)
		return false;
	out->time = p;
	out->time_len = (size_t)(sp - p);
	p = sp + 1;
	sp = memchr(p, ' ', (size_t)(end - p));
	if (!sp)
		return false;
	out->stream = p;
	out->stream_len = (size_t)(sp - p);
	p = sp + 1;
	/* the tag: "P" (partial) or "F" (full), maybe with more flags after ':' */
	sp = memchr(p, ' ', (size_t)(end - p));
	const char *tag_end = sp ? sp : end;
	if (tag_end == p)
		return false;
	out->partial = *p == 'P';
	out->text = sp ? sp + 1 : end;
	out->text_len = (size_t)(end - out->text);
	return out->time_len > 0 && out->stream_len > 0;
}

static int64_t line_time_ns(const struct kl_logline *l)
{
	char t[64];
	int64_t sec;
	int32_t nsec;
	if (l->time_len >= sizeof(t))
		return 0;
	memcpy(t, l->time, l->time_len);
	t[l->time_len] = '\0';
	if (obj_time_parse(t, &sec, &nsec, NULL) < 0)
		return 0;
	return sec * 1000000000 + nsec;
}

/* Where the last n lines of fd (size bytes) begin. */
static off_t tail_offset(int fd, off_t size, long n)
{
	char b[8192];
	off_t pos = size;
	long lines = 0;
	if (n <= 0)
		return size;
	/* a final newline ends the last line; it does not start another */
	bool skip_last = true;
	while (pos > 0) {
		size_t want = (size_t)MIN((off_t)sizeof(b), pos);
		pos -= (off_t)want;
		ssize_t r = pread(fd, b, want, pos);
		if (r <= 0)
			return 0;
		for (ssize_t i = r - 1; i >= 0; i--) {
			if (b[i] != '\n')
				continue;
			if (skip_last && pos + i == size - 1) {
				skip_last = false;
				continue;
			}
			if (++lines == n)
				return pos + i + 1;
		}
		skip_last = false;
	}
	return 0;
}

char *kl_log_tail(const char *path, int lines, size_t max_bytes)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return NULL;
	}
	off_t off = tail_offset(fd, st.st_size, lines);
	size_t len = (size_t)(st.st_size - off);
	if (len > (size_t)16 << 20)
		len = (size_t)16 << 20;
	char *raw = xmalloc(len + 1);
	ssize_t r = pread(fd, raw, len, off);
	close(fd);
	if (r < 0)
		r = 0;
	raw[r] = '\0';
	struct buf b = { 0 };
	for (char *p = raw, *nl; p < raw + r; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(raw + r - p));
		if (!nl)
			nl = raw + r;
		struct kl_logline l;
		if (kl_parse_logline(p, (size_t)(nl - p), &l)) {
			buf_add(&b, l.text, l.text_len);
			if (!l.partial)
				buf_addc(&b, '\n');
		}
	}
	free(raw);
	if (!b.len) {
		buf_free(&b);
		return NULL;
	}
	if (b.len > max_bytes) {
		char *s = xstrdup(b.data + b.len - max_bytes);
		buf_free(&b);
		return s;
	}
	return buf_steal(&b);
}

/* --- streams ----------------------------------------------------------------------------- */

struct kl_logstream {
	struct kubelet *k;
	struct http_req *r;
	struct kl_logstream *next;
	int fd, ifd;
	char *ctr_id, *path;
	off_t off;
	struct buf carry; /* an incomplete last line */
	bool follow, timestamps, ended, ctr_done, paused, mid_line;
	int64_t since_ns;
	int64_t limit; /* bytes still allowed; -1: no limit */
	struct loop_timer timer;
};

static void stream_end(struct kl_logstream *s)
{
	struct kubelet *k = s->k;
	if (s->ended)
		return;
	s->ended = true;
	for (struct kl_logstream **pp = &k->streams; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	loop_timer_disarm(k->loop, &s->timer);
	if (s->ifd >= 0) {
		loop_del_fd(k->loop, s->ifd);
		close(s->ifd);
	}
	if (s->fd >= 0)
		close(s->fd);
	buf_free(&s->carry);
	free(s->ctr_id);
	free(s->path);
	struct http_req *r = s->r;
	free(s);
	http_resp_end(r);
}

/* Writes one parsed line as kubectl shows it; false once the byte limit is reached. */
static bool emit(struct kl_logstream *s, const struct kl_logline *l)
{
	if (s->since_ns && line_time_ns(l) < s->since_ns)
		return true;
	struct buf out = { 0 };
	if (s->timestamps && !s->mid_line) {
		buf_add(&out, l->time, l->time_len);
		buf_addc(&out, ' ');
	}
	buf_add(&out, l->text, l->text_len);
	if (!l->partial)
		buf_addc(&out, '\n');
	s->mid_line = l->partial;
	size_t n = out.len;
	bool more = true;
	if (s->limit >= 0 && (int64_t)n >= s->limit) {
		n = (size_t)s->limit;
		more = false;
	}
	if (n)
		http_resp_write(s->r, out.data, n);
	if (s->limit >= 0)
		s->limit -= (int64_t)n;
	buf_free(&out);
	return more;
}

static bool ctr_running(struct kl_logstream *s)
{
	struct kl_ctr *c = strmap_get(&s->k->ctrs, s->ctr_id);
	return c && c->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
}

/* Sends what the file has beyond s->off. */
static void pump(struct kl_logstream *s)
{
	if (s->fd < 0)
		s->fd = open(s->path, O_RDONLY | O_CLOEXEC);
	char *b = xmalloc(CHUNK);
	for (;;) {
		if (!http_req_alive(s->r)) {
			free(b);
			stream_end(s);
			return;
		}
		if (http_resp_queued(s->r) > QUEUE_HIGH) {
			s->paused = true; /* resumed by HTTP_EV_DRAINED */
			free(b);
			return;
		}
		ssize_t r = pread(s->fd, b, CHUNK, s->off);
		if (r <= 0)
			break;
		s->off += r;
		buf_add(&s->carry, b, (size_t)r);
		char *p = s->carry.data, *end = s->carry.data + s->carry.len, *nl;
		bool more = true;
		while (more && (nl = memchr(p, '\n', (size_t)(end - p)))) {
			struct kl_logline l;
			if (kl_parse_logline(p, (size_t)(nl - p), &l))
				more = emit(s, &l);
			p = nl + 1;
		}
		size_t left = (size_t)(end - p);
		memmove(s->carry.data, p, left);
		s->carry.len = left;
		s->carry.data[left] = '\0';
		if (!more) {
			free(b);
			stream_end(s);
			return;
		}
	}
	free(b);
	if (!s->follow || s->ctr_done) {
		stream_end(s);
		return;
	}
}

static void on_follow_timer(struct loop *l, struct loop_timer *t)
{
	struct kl_logstream *s = container_of(t, struct kl_logstream, timer);
	if (!ctr_running(s))
		s->ctr_done = true; /* a last read, then the end */
	pump(s);
	if (!s->ended)
		loop_timer_arm(l, t, FOLLOW_CHECK_MS);
}

static void on_inotify(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct kl_logstream *s = arg;
	char b[4096];
	while (read(fd, b, sizeof(b)) > 0) {
	}
	if (!s->paused)
		pump(s);
}

static void on_http(struct http_req *r, enum http_event ev, void *arg)
{
	struct kl_logstream *s = arg;
	switch (ev) {
	case HTTP_EV_DRAINED:
		if (s->paused) {
			s->paused = false;
			pump(s);
		}
		break;
	case HTTP_EV_CLOSED:
	case HTTP_EV_SHUTDOWN:
		stream_end(s);
		break;
	}
}

void kl_logs_stop_all(struct kubelet *k)
{
	while (k->streams)
		stream_end(k->streams);
}

void kl_logs_container_gone(struct kubelet *k, const char *ctr_id)
{
	for (struct kl_logstream *s = k->streams; s; s = s->next)
		if (s->ctr_id && !strcmp(s->ctr_id, ctr_id))
			s->ctr_done = true; /* the timer ends it after a last read */
}

/* --- the request ---------------------------------------------------------------------------- */

static void fail(struct http_req *r, int code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(struct http_req *r, int code, const char *reason, const char *fmt, ...)
{
	struct api_status st = { .code = code, .reason = reason };
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(st.message, sizeof(st.message), fmt, ap);
	va_end(ap);
	cJSON *j = api_status_json(&st);
	struct buf b = { 0 };
	obj_print_buf(&b, j, 0);
	cJSON_Delete(j);
	http_resp_header(r, "Content-Type", "application/json");
	http_resp_send_buf(r, code, &b);
}

static bool qbool(const char *v)
{
	return v && (!strcmp(v, "1") || !strcasecmp(v, "t") || !strcasecmp(v, "true"));
}

static bool qint(struct http_req *r, const char *key, int64_t *out)
{
	const char *v = http_req_query(r, key);
	char *end;
	if (!v || !*v)
		return false;
	long long x = strtoll(v, &end, 10);
	if (*end)
		return false;
	*out = x;
	return true;
}

static void names(const cJSON *pod, const char *list, struct buf *b)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, obj_get(pod, list))
	{
		const char *n = obj_get_str(c, "name");
		if (n)
			buf_printf(b, "%s%s", b->len ? " " : "", n);
	}
}

void kubelet_serve_log(void *arg, struct http_req *r, const cJSON *pod)
{
	struct kubelet *k = arg;
	if (k->stopping) {
		fail(r, 503, "ServiceUnavailable", "the kubelet is shutting down");
		return;
	}
	const char *name = obj_get_str(pod, "metadata.name");
	const char *uid = obj_get_str(pod, "metadata.uid");
	const char *node = obj_get_str(pod, "spec.nodeName");
	if (!name || !uid) {
		fail(r, 400, "BadRequest", "not a pod");
		return;
	}
	if (!node || !*node) {
		fail(r, 400, "BadRequest", "pod %s does not have a host assigned", name);
		return;
	}
	if (strcmp(node, k->node_name)) {
		fail(r, 503, "ServiceUnavailable",
		     "pod %s runs on node %s; logs of other nodes are not served yet", name, node);
		return;
	}
	const char *cname = http_req_query(r, "container");
	if (!cname || !*cname) {
		const cJSON *cs = obj_get(pod, "spec.containers");
		if (cJSON_GetArraySize(cs) == 1) {
			cname = obj_get_str(cJSON_GetArrayItem(cs, 0), "name");
		} else {
			struct buf a = { 0 }, b = { 0 };
			names(pod, "spec.containers", &a);
			names(pod, "spec.initContainers", &b);
			if (b.len)
				fail(r, 400, "BadRequest",
				     "a container name must be specified for pod %s, choose one "
				     "of: [%s] "
				     "or one of the init containers: [%s]",
				     name, a.data ? a.data : "", b.data);
			else
				fail(r, 400, "BadRequest",
				     "a container name must be specified for pod %s, choose one "
				     "of: [%s]",
				     name, a.data ? a.data : "");
			buf_free(&a);
			buf_free(&b);
			return;
		}
	}
	bool known = false;
	static const char *const lists[] = { "spec.containers", "spec.initContainers",
		                             "spec.ephemeralContainers" };
	for (size_t l = 0; l < ARRAY_SIZE(lists) && !known; l++) {
		const cJSON *c;
		cJSON_ArrayForEach(c, obj_get(pod, lists[l]))
		{
			const char *n = obj_get_str(c, "name");
			if (n && cname && !strcmp(n, cname))
				known = true;
		}
	}
	if (!known) {
		fail(r, 400, "BadRequest", "container %s is not valid for pod %s",
		     cname ? cname : "", name);
		return;
	}
	struct kl_pod *p = kl_pod_find(k, uid);
	struct kl_cstate *cs = p ? kl_pod_cstate(p, cname) : NULL;
	struct kl_ctr *inst[2];
	size_t n = kl_instances(k, uid, cname, inst, 2);
	struct kl_ctr *c = NULL;
	bool exited0 = n && inst[0]->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING &&
	               inst[0]->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED;
	if (qbool(http_req_query(r, "previous"))) {
		/* what status.lastState.terminated names: the exit before the current run, or
		 * the latest exit when the container waits to run again */
		c = exited0 && cs && cs->wait_reason ? inst[0] : n > 1 ? inst[1] : NULL;
		if (!c) {
			fail(r, 400, "BadRequest",
			     "previous terminated container \"%s\" in pod \"%s\" not found", cname,
			     name);
			return;
		}
	} else {
		c = n ? inst[0] : NULL;
		if (!c || c->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED) {
			/* the reason the pod's status gives */
			cJSON *st = p ? kl_pod_status(p) : NULL;
			const char *why = "ContainerCreating";
			static const char *const sts[] = { "containerStatuses",
				                           "initContainerStatuses" };
			for (int l = 0; l < 2; l++) {
				const cJSON *s;
				cJSON_ArrayForEach(s, obj_get(st, sts[l]))
				{
					const char *sn = obj_get_str(s, "name");
					const char *w = obj_get_str(s, "state.waiting.reason");
					if (sn && w && !strcmp(sn, cname))
						why = w;
				}
			}
			fail(r, 400, "BadRequest",
			     "container \"%s\" in pod \"%s\" is waiting to start: %s", cname, name,
			     why);
			cJSON_Delete(st);
			return;
		}
	}
	if (!c->log_path) {
		fail(r, 500, "InternalError", "container \"%s\" in pod \"%s\" has no log file",
		     cname, name);
		return;
	}
	int fd = open(c->log_path, O_RDONLY | O_CLOEXEC);
	struct kl_logstream *s = xcalloc(1, sizeof(*s));
	s->k = k;
	s->r = r;
	s->fd = fd;
	s->ifd = -1;
	s->ctr_id = xstrdup(c->id);
	s->path = xstrdup(c->log_path);
	s->follow = qbool(http_req_query(r, "follow")) &&
	            c->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
	s->timestamps = qbool(http_req_query(r, "timestamps"));
	s->limit = -1;
	int64_t v;
	if (qint(r, "limitBytes", &v) && v > 0)
		s->limit = v;
	if (qint(r, "sinceSeconds", &v) && v > 0) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		s->since_ns = ((int64_t)now.tv_sec - v) * 1000000000 + now.tv_nsec;
	}
	const char *st = http_req_query(r, "sinceTime");
	int64_t sec;
	int32_t nsec;
	if (st && *st && obj_time_parse(st, &sec, &nsec, NULL) == 0)
		s->since_ns = sec * 1000000000 + nsec;
	loop_timer_init(&s->timer, on_follow_timer);
	s->next = k->streams;
	k->streams = s;
	http_req_on_event(r, on_http, s);
	http_resp_header(r, "Content-Type", "text/plain");
	http_resp_start(r, 200, -1);
	if (fd < 0) {
		/* no file (yet): nothing to show, as upstream when the log was removed */
		if (!s->follow) {
			stream_end(s);
			return;
		}
		s->fd = -1;
	}
	struct stat sst;
	if (s->fd >= 0 && fstat(s->fd, &sst) == 0 && qint(r, "tailLines", &v) && v >= 0)
		s->off = tail_offset(s->fd, sst.st_size, (long)v);
	if (s->follow) {
		s->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (s->ifd >= 0 && inotify_add_watch(s->ifd, c->log_path, IN_MODIFY) >= 0)
			loop_add_fd(k->loop, s->ifd, EPOLLIN, on_inotify, s);
		else if (s->ifd >= 0) {
			close(s->ifd);
			s->ifd = -1;
		}
		loop_timer_arm(k->loop, &s->timer, FOLLOW_CHECK_MS);
	}
	pump(s);
}
