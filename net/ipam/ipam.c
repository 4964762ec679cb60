/* ipam: the lease file: an append-only log replayed under an flock by every operation.
 *
 * <dir>/leases, one record a line:
 *
 *     tug-ipam 2
 *     boot <kernel boot id when the file was made>
 *     last <subnet> <address handed out last from it>
 *     lease <address> <container id> <ifname>
 *     free <address>
 *
 * A node has a few hundred pods at most, so replaying the whole log is cheaper than any
 * index. A change appends its records in one write: a rewrite-and-rename costs a
 * writeback on ext4 (its guard against empty files after a crash), two orders of
 * magnitude more than an append. When the log holds far more records than leases it
 * is compacted by a rewrite and rename, which also makes new files whole or absent.
 * A write cut short leaves a last line without its newline: replay skips it, and the
 * next append starts on a fresh line. Nothing is fsynced: only a power cut can lose a
 * change, and after one the boot id differs and every lease is dropped anyway, as
 * their network namespaces are gone.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>

#define LOG_TAG "ipam"
#include "core/log/log.h"
#include "net/ipam/ipam.h"

#define ID_MAX 256

struct lease {
	struct ipaddr addr;
	char *id;
	char *ifname;
};

struct cursor {
	struct ipaddr_net subnet;
	struct ipaddr last;
};

struct state {
	struct lease *v;
	size_t n, cap;
	struct cursor cur[8];
	size_t n_cur;
	bool exists;    /* the file was there */
	bool stale;     /* it was from another boot: rewrite it at the next change */
	bool torn;      /* its last line has no newline */
	size_t records; /* lines in it */
	struct buf log; /* records this operation appends */
};

struct ipam {
	char *dir;
	int lockfd;
	struct ipam_range ranges[IPAM_MAX_RANGES];
	size_t n_ranges;
	char boot[64];
};

int ipam_range_check(struct ipam_range *r, struct err *e)
{
	char s[IPADDR_NET_STRLEN], g[IPADDR_STRLEN];
	struct ipaddr first, last;
	unsigned bits = ipaddr_bytes(r->subnet.addr.family) * 8;

	if (!bits)
		return err_set(e, -EINVAL, "range has no subnet");
	ipaddr_net_str(&r->subnet, s);
	/* Network, gateway and last address are reserved: /30 and /126 leave one. */
	if (r->subnet.len + 2 > bits)
		return err_set(e, -EINVAL, "subnet %s is too small to allocate from", s);
	ipaddr_net_first(&r->subnet, &first);
	if (!ipaddr_equal(&first, &r->subnet.addr))
		return err_set(e, -EINVAL, "subnet %s has host bits set", s);
	ipaddr_net_last(&r->subnet, &last);
	if (!r->gateway.family) {
		r->gateway = first;
		ipaddr_inc(&r->gateway);
		return 0;
	}
	if (!ipaddr_net_contains(&r->subnet, &r->gateway) || ipaddr_equal(&r->gateway, &first) ||
	    ipaddr_equal(&r->gateway, &last))
		return err_set(e, -EINVAL, "gateway %s is not a host address of subnet %s",
		               ipaddr_str(&r->gateway, g), s);
	return 0;
}

static bool valid_token(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max)
		return false;
	for (; *s; s++) {
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	}
	return true;
}

static int check_owner(const char *id, const char *ifname, struct err *e)
{
	if (!valid_token(id, ID_MAX))
		return err_set(e, -EINVAL, "container id '%s' is empty, too long or has blanks",
		               id ? id : "");
	if (!valid_token(ifname, 15))
		return err_set(e, -EINVAL, "interface name '%s' is empty, too long or has blanks",
		               ifname ? ifname : "");
	return 0;
}

static void read_boot_id(char *out, size_t cap)
{
	char *s = NULL;
	out[0] = '\0';
	if (read_file("/proc/sys/kernel/random/boot_id", &s, NULL, 256) < 0)
		return;
	s[strcspn(s, " \t\r\n")] = '\0';
	snprintf(out, cap, "%s", s);
	free(s);
}

int ipam_open(struct ipam **out, const struct ipam_opts *o, struct err *e)
{
	struct ipam *p;
	char path[4096];
	int rc;

	if (!o->dir || !*o->dir)
		return err_set(e, -EINVAL, "IPAM needs a data directory");
	if (o->n_ranges == 0 || o->n_ranges > IPAM_MAX_RANGES)
		return err_set(e, -EINVAL, "IPAM takes 1 to %d ranges, not %zu", IPAM_MAX_RANGES,
		               o->n_ranges);
	if ((size_t)snprintf(path, sizeof(path), "%s/lock", o->dir) >= sizeof(path))
		return err_set(e, -ENAMETOOLONG, "IPAM directory %s: path too long", o->dir);
	p = xcalloc(1, sizeof(*p));
	p->lockfd = -1;
	for (size_t i = 0; i < o->n_ranges; i++) {
		p->ranges[i] = o->ranges[i];
		if ((rc = ipam_range_check(&p->ranges[i], e)) < 0)
			goto fail;
	}
	p->n_ranges = o->n_ranges;
	if (o->boot_id)
		snprintf(p->boot, sizeof(p->boot), "%s", o->boot_id);
	else
		read_boot_id(p->boot, sizeof(p->boot));
	/* The directory exists but for the first pod: try the lock file first. */
	p->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (p->lockfd < 0 && errno == ENOENT) {
		if ((rc = mkdir_p(o->dir, 0700)) < 0) {
			err_set(e, rc, "create IPAM directory %s: %s", o->dir, strerror(-rc));
			goto fail;
		}
		p->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	}
	if (p->lockfd < 0) {
		rc = -errno;
		err_set(e, rc, "open %s: %s", path, strerror(-rc));
		goto fail;
	}
	p->dir = xstrdup(o->dir);
	*out = p;
	return 0;
fail:
	ipam_close(p);
	return rc;
}

void ipam_close(struct ipam *p)
{
	if (!p)
		return;
	if (p->lockfd >= 0)
		close(p->lockfd);
	free(p->dir);
	free(p);
}

static void state_free(struct state *st)
{
	for (size_t i = 0; i < st->n; i++) {
		free(st->v[i].id);
		free(st->v[i].ifname);
	}
	free(st->v);
	buf_free(&st->log);
	memset(st, 0, sizeof(*st));
}

static void state_add(struct state *st, const struct ipaddr *a, const char *id, const char *ifname)
{
	if (st->n == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 16;
		st->v = xrealloc(st->v, st->cap * sizeof(*st->v));
	}
	st->v[st->n++] = (struct lease){ *a, xstrdup(id), xstrdup(ifname) };
}

static void state_drop(struct state *st, size_t i)
{
	free(st->v[i].id);
	free(st->v[i].ifname);
	st->v[i] = st->v[--st->n];
}

static struct cursor *cursor_of(struct state *st, const struct ipaddr_net *subnet, bool create)
{
	for (size_t i = 0; i < st->n_cur; i++) {
		if (ipaddr_net_equal(&st->cur[i].subnet, subnet))
			return &st->cur[i];
	}
	if (!create)
		return NULL;
	/* Cursors of subnets no longer configured go first when the table is full. */
	if (st->n_cur == ARRAY_SIZE(st->cur))
		memmove(st->cur, st->cur + 1, --st->n_cur * sizeof(st->cur[0]));
	struct cursor *c = &st->cur[st->n_cur++];
	memset(c, 0, sizeof(*c));
	c->subnet = *subnet;
	return c;
}

static int find(const struct state *st, const struct ipaddr *a)
{
	for (size_t i = 0; i < st->n; i++) {
		if (ipaddr_equal(&st->v[i].addr, a))
			return (int)i;
	}
	return -1;
}

/* Replays the log; a missing file is an empty state. Lines it cannot read are skipped
 * with a warning rather than failing every pod on the node. */
static int load(struct ipam *p, struct state *st, struct err *e)
{
	char path[4096], *text = NULL, *line, *save = NULL;
	size_t len = 0;
	int rc, lineno = 0;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "%s/leases", p->dir);
	rc = read_file(path, &text, &len, 64 << 20);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return err_set(e, rc, "read %s: %s", path, strerror(-rc));
	st->exists = true;
	st->torn = len > 0 && text[len - 1] != '\n';
	if (st->torn) {
		char *nl = strrchr(text, '\n');
		*(nl ? nl : text) = '\0'; /* drop the torn line */
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *w[5], *tok, *tsave = NULL;
		struct ipaddr a;
		int n = 0, i;
		lineno++;
		/* Words split in place: a record never holds more than four. */
		for (tok = strtok_r(line, " \t", &tsave); tok && n < 5;
		     tok = strtok_r(NULL, " \t", &tsave))
			w[n++] = tok;
		if (n < 1 || n > 4 || w[0][0] == '#' || !strcmp(w[0], "tug-ipam")) {
			if (n > 4)
				log_warn("%s:%d: skipping unreadable line", path, lineno);
			continue;
		}
		if (!strcmp(w[0], "boot") && n == 2) {
			if (p->boot[0] && strcmp(w[1], p->boot) != 0)
				st->stale = true;
			continue;
		}
		if (!strcmp(w[0], "last") && n == 3) {
			struct ipaddr_net sn;
			if (ipaddr_net_parse(w[1], &sn, true) == 0 && ipaddr_parse(w[2], &a) == 0)
				cursor_of(st, &sn, true)->last = a;
			continue;
		}
		if (!strcmp(w[0], "lease") && n == 4 && ipaddr_parse(w[1], &a) == 0 &&
		    valid_token(w[2], ID_MAX) && valid_token(w[3], 15)) {
			if ((i = find(st, &a)) >= 0)
				state_drop(st, (size_t)i);
			state_add(st, &a, w[2], w[3]);
			continue;
		}
		if (!strcmp(w[0], "free") && n == 2 && ipaddr_parse(w[1], &a) == 0) {
			if ((i = find(st, &a)) >= 0)
				state_drop(st, (size_t)i);
			continue;
		}
		log_warn("%s:%d: skipping unreadable line", path, lineno);
	}
	st->records = (size_t)lineno;
	free(text);
	if (st->stale) {
		log_info("%s: made before this boot, dropping %zu leases", path, st->n);
		for (size_t i = st->n; i-- > 0;)
			state_drop(st, i);
		st->n_cur = 0;
	}
	return 0;
}

/* Rewrites the whole file from the state: new, compacted or from another boot. */
static int save(struct ipam *p, struct state *st, struct err *e)
{
	char path[4096], tmp[4096], a[IPADDR_STRLEN], s[IPADDR_NET_STRLEN];
	struct buf b = { 0 };
	int fd, rc = 0;

	buf_printf(&b, "tug-ipam 2\nboot %s\n", p->boot[0] ? p->boot : "-");
	for (size_t i = 0; i < st->n_cur; i++)
		buf_printf(&b, "last %s %s\n", ipaddr_net_str(&st->cur[i].subnet, s),
		           ipaddr_str(&st->cur[i].last, a));
	for (size_t i = 0; i < st->n; i++)
		buf_printf(&b, "lease %s %s %s\n", ipaddr_str(&st->v[i].addr, a), st->v[i].id,
		           st->v[i].ifname);
	snprintf(path, sizeof(path), "%s/leases", p->dir);
	snprintf(tmp, sizeof(tmp), "%s/leases.tmp", p->dir);
	/* The lock is held, so the fixed temporary name cannot clash. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		err_set(e, rc, "write %s: %s", tmp, strerror(-rc));
		goto out;
	}
	rc = write_all(fd, b.data, b.len);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		err_set(e, rc, "write %s: %s", path, strerror(-rc));
		unlink(tmp);
	}
out:
	buf_free(&b);
	return rc;
}

/* Makes this operation's records durable as far as we ever do: appended in one write,
 * or the file rewritten when it is new, stale or mostly history. */
static int commit(struct ipam *p, struct state *st, struct err *e)
{
	char path[4096];
	int fd, rc;

	if (!st->log.len && !st->stale)
		return 0;
	if (!st->exists || st->stale || st->records > 4 * st->n + 64)
		return save(p, st, e);
	snprintf(path, sizeof(path), "%s/leases", p->dir);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, -errno, "append to %s: %s", path, strerror(errno));
	if (st->torn) {
		/* Start on a line of our own after a write that was cut short. */
		struct buf b = { 0 };
		buf_addc(&b, '\n');
		buf_add(&b, st->log.data, st->log.len);
		buf_free(&st->log);
		st->log = b;
	}
	rc = write_all(fd, st->log.data, st->log.len);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc < 0 ? err_set(e, rc, "append to %s: %s", path, strerror(-rc)) : 0;
}

/* Changes to the state, each with the record that replays it. */
static void rec_lease(struct state *st, const struct ipam_range *r, const struct ipaddr *a,
                      const char *id, const char *ifname)
{
	char s[IPADDR_NET_STRLEN], as[IPADDR_STRLEN];
	state_add(st, a, id, ifname);
	cursor_of(st, &r->subnet, true)->last = *a;
	buf_printf(&st->log, "lease %s %s %s\nlast %s %s\n", ipaddr_str(a, as), id, ifname,
	           ipaddr_net_str(&r->subnet, s), as);
}

static void rec_free(struct state *st, size_t i)
{
	char as[IPADDR_STRLEN];
	buf_printf(&st->log, "free %s\n", ipaddr_str(&st->v[i].addr, as));
	state_drop(st, i);
}

static int lock(struct ipam *p, struct err *e)
{
	while (flock(p->lockfd, LOCK_EX) < 0) {
		if (errno != EINTR)
			return err_set(e, -errno, "lock %s/lock: %s", p->dir, strerror(errno));
	}
	return 0;
}

static void unlock(struct ipam *p)
{
	flock(p->lockfd, LOCK_UN);
}

static bool owned_by(const struct lease *l, const char *id, const char *ifname)
{
	return !strcmp(l->id, id) && !strcmp(l->ifname, ifname);
}

static bool leased(const struct state *st, const struct ipaddr *a)
{
	for (size_t i = 0; i < st->n; i++) {
		if (ipaddr_equal(&st->v[i].addr, a))
			return true;
	}
	return false;
}

static size_t leases_in(const struct state *st, const struct ipaddr_net *subnet)
{
	size_t n = 0;
	for (size_t i = 0; i < st->n; i++)
		n += ipaddr_net_contains(subnet, &st->v[i].addr);
	return n;
}

/* The host after c, wrapping from the last host to the first. */
static void step(const struct ipaddr *first, const struct ipaddr *last, struct ipaddr *c)
{
	if (!ipaddr_inc(c) || ipaddr_cmp(c, last) >= 0) {
		*c = *first;
		ipaddr_inc(c);
	}
}

/*
 * The next free host after the range's cursor. Only the gateway and the leases are
 * taken among the hosts, so within leases + 2 steps we find a free one or have been
 * round the whole pool; that bounds the walk even in a /64.
 */
static int pick(struct state *st, const struct ipam_range *r, struct ipaddr *out)
{
	struct ipaddr first, last, c, start;
	struct cursor *cur = cursor_of(st, &r->subnet, false);
	size_t budget = leases_in(st, &r->subnet) + 2;

	ipaddr_net_first(&r->subnet, &first);
	ipaddr_net_last(&r->subnet, &last);
	c = first;
	if (cur && ipaddr_net_contains(&r->subnet, &cur->last) && ipaddr_cmp(&cur->last, &last) < 0)
		c = cur->last;
	step(&first, &last, &c);
	start = c;
	for (size_t i = 0; i <= budget; i++) {
		if (!ipaddr_equal(&c, &r->gateway) && !leased(st, &c)) {
			*out = c;
			return 0;
		}
		step(&first, &last, &c);
		if (ipaddr_equal(&c, &start))
			break;
	}
	return -ENOSPC;
}

int ipam_alloc(struct ipam *p, const char *id, const char *ifname, struct ipaddr *out, bool *fresh,
               struct err *e)
{
	char s[IPADDR_NET_STRLEN];
	struct state st;
	bool dirty = false;
	int rc;

	if ((rc = check_owner(id, ifname, e)) < 0)
		return rc;
	if ((rc = lock(p, e)) < 0)
		return rc;
	if ((rc = load(p, &st, e)) < 0)
		goto out;
	for (size_t i = 0; i < p->n_ranges; i++) {
		const struct ipam_range *r = &p->ranges[i];
		size_t j;
		for (j = 0; j < st.n; j++) {
			if (owned_by(&st.v[j], id, ifname) &&
			    ipaddr_net_contains(&r->subnet, &st.v[j].addr))
				break;
		}
		if (j < st.n) {
			out[i] = st.v[j].addr;
			continue;
		}
		if (pick(&st, r, &out[i]) < 0) {
			rc = err_set(e, -ENOSPC, "no free address left in %s (%zu leased)",
			             ipaddr_net_str(&r->subnet, s), leases_in(&st, &r->subnet));
			goto out;
		}
		rec_lease(&st, r, &out[i], id, ifname);
		dirty = true;
	}
	rc = commit(p, &st, e);
out:
	if (fresh)
		*fresh = rc == 0 && dirty;
	unlock(p);
	state_free(&st);
	return rc;
}

int ipam_release(struct ipam *p, const char *id, const char *ifname, struct err *e)
{
	struct state st;
	int rc;

	if ((rc = check_owner(id, ifname, e)) < 0)
		return rc;
	if ((rc = lock(p, e)) < 0)
		return rc;
	if ((rc = load(p, &st, e)) < 0)
		goto out;
	for (size_t i = st.n; i-- > 0;) {
		if (owned_by(&st.v[i], id, ifname))
			rec_free(&st, i);
	}
	rc = commit(p, &st, e);
out:
	unlock(p);
	state_free(&st);
	return rc;
}

int ipam_lookup(struct ipam *p, const char *id, const char *ifname, struct ipaddr *out,
                struct err *e)
{
	struct state st;
	int rc;

	if ((rc = check_owner(id, ifname, e)) < 0)
		return rc;
	for (size_t i = 0; i < p->n_ranges; i++)
		memset(&out[i], 0, sizeof(out[i]));
	if ((rc = lock(p, e)) < 0)
		return rc;
	rc = load(p, &st, e);
	unlock(p);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < p->n_ranges; i++) {
		for (size_t j = 0; j < st.n; j++) {
			if (owned_by(&st.v[j], id, ifname) &&
			    ipaddr_net_contains(&p->ranges[i].subnet, &st.v[j].addr)) {
				out[i] = st.v[j].addr;
				break;
			}
		}
	}
	state_free(&st);
	return 0;
}

int ipam_gc(struct ipam *p, const struct ipam_owner *keep, size_t n_keep, size_t *released,
            struct err *e)
{
	struct state st;
	size_t n = 0;
	int rc;

	if ((rc = lock(p, e)) < 0)
		return rc;
	if ((rc = load(p, &st, e)) < 0)
		goto out;
	for (size_t i = st.n; i-- > 0;) {
		bool valid = false;
		for (size_t k = 0; k < n_keep && !valid; k++)
			valid = keep[k].id && keep[k].ifname &&
			        owned_by(&st.v[i], keep[k].id, keep[k].ifname);
		if (!valid) {
			rec_free(&st, i);
			n++;
		}
	}
	rc = commit(p, &st, e);
out:
	unlock(p);
	state_free(&st);
	if (released)
		*released = rc < 0 ? 0 : n;
	return rc;
}

int ipam_available(struct ipam *p, uint64_t *avail, struct err *e)
{
	struct state st;
	int rc;

	if ((rc = lock(p, e)) < 0)
		return rc;
	rc = load(p, &st, e);
	unlock(p);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < p->n_ranges; i++) {
		const struct ipam_range *r = &p->ranges[i];
		unsigned host = ipaddr_bytes(r->subnet.addr.family) * 8 - r->subnet.len;
		uint64_t used = leases_in(&st, &r->subnet);
		if (host >= 63) {
			avail[i] = UINT64_MAX;
			continue;
		}
		/* Less the network, last and gateway addresses. */
		uint64_t pool = (UINT64_C(1) << host) - 3;
		avail[i] = used >= pool ? 0 : pool - used;
	}
	state_free(&st);
	return 0;
}
