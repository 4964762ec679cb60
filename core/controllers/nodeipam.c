/* nodeipam: gives every Node without spec.podCIDR a block of the cluster CIDR (one per family,
 * spec.podCIDR and spec.podCIDRs), never one that another node holds, as upstream's range
 * allocator does; blocks of deleted nodes are free again. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define LOG_TAG "nodeipam"
#include "core/controllers/cluster-internal.h"
#include "core/log/log.h"

#define MAX_BLOCKS 65536 /* blocks per range we track; a wider range uses its first ones */

/* One cluster CIDR: blocks of /mask inside base/prefix, and which are taken. */
struct range {
	int family; /* AF_INET or AF_INET6 */
	uint8_t base[16];
	int bits; /* 32 or 128 */
	int prefix, mask;
	uint32_t nblocks, next;
	uint8_t *used; /* bitmap */
	char text[64];
};

struct ctrl_nodeipam {
	struct cc_ctl b;
	const struct reg_kind *nodek;
	struct range *r;
	size_t nr;
	bool ready; /* every existing node's blocks are known */
};

/* A write in flight: the blocks it claims, given back if it fails. */
struct claim {
	uint32_t idx[4];
	size_t n;
};

static bool bit(const uint8_t *a, int i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

static int parse_cidr(const char *s, int *family, uint8_t addr[16], int *len)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", s);
	char *slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	uint64_t l;
	if (!parse_u64(slash + 1, &l))
		return -EINVAL;
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = AF_INET;
		if (l > 32)
			return -EINVAL;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		*family = AF_INET6;
		if (l > 128)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	*len = (int)l;
	return 0;
}

/* The block index of cidr in r, or -1 when it is not one of r's blocks. */
static int64_t block_of(const struct range *r, const char *cidr)
{
	int family, len;
	uint8_t a[16];
	if (parse_cidr(cidr, &family, a, &len) < 0 || family != r->family || len != r->mask)
		return -1;
	for (int i = 0; i < r->prefix; i++)
		if (bit(a, i) != bit(r->base, i))
			return -1;
	for (int i = r->mask; i < r->bits; i++)
		if (bit(a, i))
			return -1;
	uint64_t idx = 0;
	for (int i = r->prefix; i < r->mask; i++)
		idx = idx << 1 | bit(a, i);
	return idx < r->nblocks ? (int64_t)idx : -1;
}

static void block_text(const struct range *r, uint32_t idx, char *out, size_t n)
{
	uint8_t a[16];
	memcpy(a, r->base, 16);
	/* Clear the host part, then write idx into bits [prefix, mask). */
	for (int i = r->prefix; i < r->bits; i++)
		a[i / 8] &= (uint8_t) ~(1u << (7 - i % 8));
	for (int i = r->mask - 1, k = 0; i >= r->prefix; i--, k++)
		if ((idx >> k) & 1)
			a[i / 8] |= (uint8_t)(1u << (7 - i % 8));
	char ip[INET6_ADDRSTRLEN];
	inet_ntop(r->family, a, ip, sizeof(ip));
	snprintf(out, n, "%s/%d", ip, r->mask);
}

static bool used(const struct range *r, uint32_t i)
{
	return r->used[i / 8] & (1u << (i % 8));
}

static void set_used(struct range *r, uint32_t i, bool on)
{
	if (on)
		r->used[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		r->used[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

/* Marks (or frees) the blocks a node holds. */
static void occupy(struct ctrl_nodeipam *x, const cJSON *node, bool on)
{
	const cJSON *c;
	int n = 0;
	cJSON_ArrayForEach(c, obj_get(node, "spec.podCIDRs"))
	{
		n++;
		for (size_t i = 0; cJSON_IsString(c) && i < x->nr; i++) {
			int64_t idx = block_of(&x->r[i], c->valuestring);
			if (idx >= 0)
				set_used(&x->r[i], (uint32_t)idx, on);
		}
	}
	const char *one = obj_get_str(node, "spec.podCIDR");
	for (size_t i = 0; !n && one && *one && i < x->nr; i++) {
		int64_t idx = block_of(&x->r[i], one);
		if (idx >= 0)
			set_used(&x->r[i], (uint32_t)idx, on);
	}
}

static bool has_cidr(const cJSON *node)
{
	const char *one = obj_get_str(node, "spec.podCIDR");
	return (one && *one) || cJSON_GetArraySize(obj_get(node, "spec.podCIDRs")) > 0;
}

static int patched(struct cc_ctl *b, const char *key, int code, const char *msg, cJSON *obj,
                   void *arg)
{
	struct ctrl_nodeipam *x = (struct ctrl_nodeipam *)b;
	struct claim *cl = arg;
	int verdict = 0;
	if (code < 200 || code >= 300) {
		/* Not ours after all: give the blocks back. A node that got a CIDR elsewhere is
		 * looked at again and its own blocks marked. */
		for (size_t i = 0; i < cl->n && !b->stopped; i++)
			set_used(&x->r[i], cl->idx[i], false);
		verdict = code == 404 ? 0 : code == 409 || code == 422 ? 1 : -1;
	}
	free(cl);
	return verdict;
}

static int sync_node(struct cc_ctl *b, const char *key)
{
	struct ctrl_nodeipam *x = (struct ctrl_nodeipam *)b;
	if (!x->ready)
		return 0; /* queued again when the node cache is complete */
	cJSON *node = client_get(b->c, x->nodek, NULL, key);
	if (!node)
		return 0;
	if (has_cidr(node)) {
		occupy(x, node, true);
		cJSON_Delete(node);
		return 0;
	}
	struct claim *cl = xcalloc(1, sizeof(*cl));
	cJSON *cidrs = cJSON_CreateArray();
	for (size_t i = 0; i < x->nr && i < ARRAY_SIZE(cl->idx); i++) {
		struct range *r = &x->r[i];
		bool found = false;
		for (uint32_t k = 0; k < r->nblocks && !found; k++) {
			uint32_t idx = (r->next + k) % r->nblocks;
			if (used(r, idx))
				continue;
			found = true;
			set_used(r, idx, true);
			r->next = (idx + 1) % r->nblocks;
			cl->idx[cl->n++] = idx;
			char text[80];
			block_text(r, idx, text, sizeof(text));
			cJSON_AddItemToArray(cidrs, cJSON_CreateString(text));
		}
		if (!found) {
			for (size_t j = 0; j < cl->n; j++)
				set_used(&x->r[j], cl->idx[j], false);
			client_event(b->c, b->component, node, "Normal", "CIDRNotAvailable",
			             "Node %s status is now: CIDRNotAvailable", key);
			log_warn("node %s: no pod CIDR left in %s", key, r->text);
			free(cl);
			cJSON_Delete(cidrs);
			cJSON_Delete(node);
			return -1;
		}
	}
	cJSON *patch = cJSON_CreateObject();
	cJSON *spec = cJSON_AddObjectToObject(patch, "spec");
	cJSON_AddStringToObject(spec, "podCIDR", cidrs->child->valuestring);
	cJSON_AddItemToObject(spec, "podCIDRs", cidrs);
	log_info("node %s: pod CIDR %s", key, cidrs->child->valuestring);
	cc_patch(b, key, x->nodek, NULL, key, NULL, patch, patched, cl);
	cJSON_Delete(node);
	return 0;
}

/* --- events ------------------------------------------------------------------------------- */

static void on_add(void *arg, const cJSON *node)
{
	struct ctrl_nodeipam *x = arg;
	if (has_cidr(node))
		occupy(x, node, true);
	else if (cc_name(node))
		cc_enqueue(&x->b, cc_name(node));
}

static void on_update(void *arg, const cJSON *old, const cJSON *node)
{
	on_add(arg, node);
}

static int enqueue_node(void *arg, const cJSON *node)
{
	struct ctrl_nodeipam *x = arg;
	if (has_cidr(node))
		occupy(x, node, true);
	else if (cc_name(node))
		cc_enqueue(&x->b, cc_name(node));
	return 0;
}

/* A block freed: nodes waiting for one (backing off after a full range) try at once. */
static void on_del(void *arg, const cJSON *node)
{
	struct ctrl_nodeipam *x = arg;
	occupy(x, node, false);
	if (x->ready && has_cidr(node))
		cc_each(ctrl_informers_get(x->b.inf, x->nodek), enqueue_node, x);
}

/* Only once every node's blocks are known may a block be handed out. */
static void on_synced(void *arg)
{
	struct ctrl_nodeipam *x = arg;
	x->ready = true;
	cc_each(ctrl_informers_get(x->b.inf, x->nodek), enqueue_node, x);
}

static void resync(struct cc_ctl *b)
{
	struct ctrl_nodeipam *x = (struct ctrl_nodeipam *)b;
	if (x->ready)
		cc_each(ctrl_informers_get(x->b.inf, x->nodek), enqueue_node, x);
}

static void destroy(struct cc_ctl *b)
{
	struct ctrl_nodeipam *x = (struct ctrl_nodeipam *)b;
	for (size_t i = 0; i < x->nr; i++)
		free(x->r[i].used);
	free(x->r);
	cc_fini(b);
	free(x);
}

static int add_range(struct ctrl_nodeipam *x, const char *text, struct err *e)
{
	struct range r = { 0 };
	if (parse_cidr(text, &r.family, r.base, &r.prefix) < 0)
		return err_set(e, -EINVAL, "--cluster-cidr: '%s' is not a CIDR", text);
	r.bits = r.family == AF_INET ? 32 : 128;
	r.mask = r.family == AF_INET ? x->b.o.node_cidr_mask_v4 : x->b.o.node_cidr_mask_v6;
	if (r.mask < r.prefix || r.mask > r.bits)
		return err_set(e, -EINVAL,
		               "--cluster-cidr: %s cannot be cut into /%d blocks for nodes", text,
		               r.mask);
	for (size_t i = 0; i < x->nr; i++)
		if (x->r[i].family == r.family)
			return err_set(e, -EINVAL, "--cluster-cidr: two %s ranges",
			               r.family == AF_INET ? "IPv4" : "IPv6");
	int shift = r.mask - r.prefix;
	r.nblocks = shift >= 16 ? MAX_BLOCKS : 1u << shift;
	r.used = xcalloc(r.nblocks / 8 + 1, 1);
	snprintf(r.text, sizeof(r.text), "%s", text);
	x->r = xrealloc(x->r, (x->nr + 1) * sizeof(*x->r));
	x->r[x->nr++] = r;
	return 0;
}

int ctrl_nodeipam_start(struct ctrl_informers *f, const struct ctrl_cluster_opts *o,
                        struct ctrl_nodeipam **out, struct err *e)
{
	struct ctrl_nodeipam *x = xcalloc(1, sizeof(*x));
	cc_init(&x->b, f, o, "node-ipam-controller");
	x->b.sync = sync_node;
	x->b.resync = resync;
	x->b.destroy = destroy;
	x->nodek = cc_kind("", "nodes");
	char *list = xstrdup(x->b.o.cluster_cidr), *save = NULL;
	int rc = 0;
	for (char *t = strtok_r(list, ", ", &save); t && !rc; t = strtok_r(NULL, ", ", &save))
		rc = add_range(x, t, e);
	free(list);
	if (!rc && !x->nr)
		rc = err_set(e, -EINVAL, "--cluster-cidr: empty");
	if (rc < 0) {
		cc_stop(&x->b);
		return rc;
	}
	struct informer_handlers h = { on_add, on_update, on_del, on_synced, x };
	if (!x->nodek || cc_watch(&x->b, "", "nodes", &h)) {
		cc_stop(&x->b);
		return err_set(e, -ENOENT, "node IPAM controller: nodes are not served");
	}
	cc_start(&x->b);
	*out = x;
	return 0;
}

void ctrl_nodeipam_stop(struct ctrl_nodeipam *x)
{
	if (x)
		cc_stop(&x->b);
}
