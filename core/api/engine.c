/* engine: get, list, create, update, read-modify-write and delete over the store, with the
 * metadata, defaulting, validation and admission every kind shares. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_TAG "api"
#include "core/api/api-internal.h"
#include "core/log/log.h"
#include "core/obj/obj.h"

/* --- status ------------------------------------------------------------------- */

void api_status_clear(struct api_status *st)
{
	reg_errors_free(&st->causes);
	memset(st, 0, sizeof(*st));
}

int api_fail(struct api_status *st, int code, const char *reason, const char *fmt, ...)
{
	va_list ap;
	st->code = code;
	st->reason = reason;
	va_start(ap, fmt);
	vsnprintf(st->message, sizeof(st->message), fmt, ap);
	va_end(ap);
	return -1;
}

cJSON *api_status_json(const struct api_status *st)
{
	cJSON *s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "kind", "Status");
	cJSON_AddStringToObject(s, "apiVersion", "v1");
	cJSON_AddObjectToObject(s, "metadata");
	bool ok = st->code >= 200 && st->code < 300;
	cJSON_AddStringToObject(s, "status", ok ? "Success" : "Failure");
	if (st->message[0])
		cJSON_AddStringToObject(s, "message", st->message);
	if (st->reason && *st->reason)
		cJSON_AddStringToObject(s, "reason", st->reason);
	if (st->name[0] || st->kind[0] || st->causes.n) {
		cJSON *d = cJSON_AddObjectToObject(s, "details");
		if (st->name[0])
			cJSON_AddStringToObject(d, "name", st->name);
		if (st->group[0])
			cJSON_AddStringToObject(d, "group", st->group);
		if (st->kind[0])
			cJSON_AddStringToObject(d, "kind", st->kind);
		if (st->causes.n) {
			cJSON *cs = cJSON_AddArrayToObject(d, "causes");
			for (size_t i = 0; i < st->causes.n; i++) {
				cJSON *c = cJSON_CreateObject();
				cJSON_AddStringToObject(c, "reason", st->causes.v[i].type);
				cJSON_AddStringToObject(c, "message", st->causes.v[i].message);
				cJSON_AddStringToObject(c, "field", st->causes.v[i].field);
				cJSON_AddItemToArray(cs, c);
			}
		}
	}
	cJSON_AddNumberToObject(s, "code", st->code);
	return s;
}

/* Fills details and returns -1, for failures about one object. */
static int fail_obj(struct api_status *st, const struct reg_kind *k, const char *name, int code,
                    const char *reason, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int fail_obj(struct api_status *st, const struct reg_kind *k, const char *name, int code,
                    const char *reason, const char *fmt, ...)
{
	va_list ap;
	st->code = code;
	st->reason = reason;
	va_start(ap, fmt);
	vsnprintf(st->message, sizeof(st->message), fmt, ap);
	va_end(ap);
	snprintf(st->name, sizeof(st->name), "%s", name ? name : "");
	snprintf(st->group, sizeof(st->group), "%s", k->group);
	snprintf(st->kind, sizeof(st->kind), "%s", k->resource);
	return -1;
}

/* "pods" or "deployments.apps", as upstream names a resource in messages. */
static void qualified_resource(const struct reg_kind *k, char *out, size_t n)
{
	if (k->group[0])
		snprintf(out, n, "%s.%s", k->resource, k->group);
	else
		snprintf(out, n, "%s", k->resource);
}

static int fail_not_found(struct api_status *st, const struct reg_kind *k, const char *name)
{
	char qr[128];
	qualified_resource(k, qr, sizeof(qr));
	return fail_obj(st, k, name, 404, "NotFound", "%s \"%s\" not found", qr, name);
}

static int fail_store(struct api_status *st, const struct reg_kind *k, const char *name, int rc,
                      const struct err *e)
{
	if (rc == STORE_E_COMPACTED)
		return api_fail(st, 410, "Expired", "%s", e && e->msg[0] ? e->msg : "too old");
	if (rc == -ENOSPC)
		return fail_obj(st, k, name, 507, "InternalError", "storage is full: %s",
		                e && e->msg[0] ? e->msg : "no space");
	if (rc == -E2BIG)
		return fail_obj(st, k, name, 413, "RequestEntityTooLarge",
		                "request is too large: %s", e && e->msg[0] ? e->msg : "");
	return fail_obj(st, k, name, 500, "InternalError", "storage error: %s",
	                e && e->msg[0] ? e->msg : strerror(rc < 0 ? -rc : rc));
}

/* --- keys --------------------------------------------------------------------- */

void api_key(const struct reg_kind *k, const char *ns, const char *name, char *out, size_t n)
{
	if (k->namespaced)
		snprintf(out, n, "/registry/%s/%s/%s", k->storage, ns ? ns : "", name);
	else
		snprintf(out, n, "/registry/%s/%s", k->storage, name);
}

void api_prefix(const struct reg_kind *k, const char *ns, char *out, size_t n)
{
	if (k->namespaced && ns)
		snprintf(out, n, "/registry/%s/%s/", k->storage, ns);
	else
		snprintf(out, n, "/registry/%s/", k->storage);
}

struct store *api_store(struct api *a)
{
	return a->store;
}

/* --- setup ------------------------------------------------------------------------ */

int api_new(struct api **out, const struct api_opts *o, struct err *e)
{
	struct api *a = xcalloc(1, sizeof(*a));
	a->store = o->store;
	a->loop = o->loop;
	a->np_min = o->node_port_min ? o->node_port_min : 30000;
	a->np_max = o->node_port_max ? o->node_port_max : 32767;
	a->advertise_ip = xstrdup(o->advertise_ip ? o->advertise_ip : "127.0.0.1");
	a->https_port = o->https_port ? o->https_port : 6443;
	a->admin_token = o->admin_token && *o->admin_token ? xstrdup(o->admin_token) : NULL;
	const char *cidr = o->service_cidr ? o->service_cidr : "10.43.0.0/16";
	char ip[64];
	const char *slash = strchr(cidr, '/');
	struct in_addr in;
	if (!slash || (size_t)(slash - cidr) >= sizeof(ip)) {
		free(a->advertise_ip);
		free(a);
		return err_set(e, -EINVAL, "service CIDR %s: not a CIDR", cidr);
	}
	memcpy(ip, cidr, (size_t)(slash - cidr));
	ip[slash - cidr] = '\0';
	int bits = atoi(slash + 1);
	if (inet_pton(AF_INET, ip, &in) != 1 || bits < 8 || bits > 30) {
		free(a->advertise_ip);
		free(a);
		return err_set(e, -EINVAL, "service CIDR %s: need an IPv4 range between /8 and /30",
		               cidr);
	}
	a->svc_mask = bits ? ~0u << (32 - bits) : 0;
	a->svc_net = ntohl(in.s_addr) & a->svc_mask;
	*out = a;
	return 0;
}

void api_set_pod_log(struct api *a, api_pod_log_fn fn, void *arg)
{
	a->pod_log = fn;
	a->pod_log_arg = arg;
}

void api_free(struct api *a)
{
	if (!a)
		return;
	/* A write still in the store's commit comes back through the loop: let it finish (for
	 * a while) so that nothing calls into a freed api. */
	for (uint64_t end = time_mono_ms() + 10000; a->writes > 0 && time_mono_ms() < end;)
		loop_run_once(a->loop, 10);
	free(a->advertise_ip);
	free(a->admin_token);
	free(a);
}

/* --- reads ------------------------------------------------------------------------- */

int api_get(struct api *a, const struct api_target *t, cJSON **out, struct api_status *st)
{
	char key[STORE_MAX_KEY + 64];
	struct store_snap *sn;
	struct store_kv kv;
	struct err e = { 0 };
	int rc;

	api_key(t->k, t->ns, t->name, key, sizeof(key));
	if (strlen(key) > STORE_MAX_KEY)
		return fail_not_found(st, t->k, t->name);
	if ((rc = store_snap_begin(a->store, 0, &sn, &e)) < 0)
		return fail_store(st, t->k, t->name, rc, &e);
	rc = store_snap_get(sn, key, &kv);
	if (rc == 0) {
		*out = api_from_storage_kind(t->k, kv.val, kv.val_len, kv.mod_rev);
		if (!*out)
			rc = STORE_E_CORRUPT;
	}
	store_snap_end(sn);
	if (rc == -ENOENT)
		return fail_not_found(st, t->k, t->name);
	if (rc < 0)
		return fail_store(st, t->k, t->name, rc, NULL);
	return 0;
}

int api_get_json(struct api *a, const struct api_target *t, struct buf *out, struct api_status *st)
{
	char key[STORE_MAX_KEY + 64];
	struct store_snap *sn;
	struct store_kv kv;
	struct err e = { 0 };
	int rc;

	if (t->k->from_storage) {
		/* Stored in another form: convert through the parsed object. */
		cJSON *obj = NULL;
		if (api_get(a, t, &obj, st) < 0)
			return -1;
		obj_print_buf(out, obj, 0);
		cJSON_Delete(obj);
		return 0;
	}
	api_key(t->k, t->ns, t->name, key, sizeof(key));
	if (strlen(key) > STORE_MAX_KEY)
		return fail_not_found(st, t->k, t->name);
	if ((rc = store_snap_begin(a->store, 0, &sn, &e)) < 0)
		return fail_store(st, t->k, t->name, rc, &e);
	rc = store_snap_get(sn, key, &kv);
	if (rc == 0)
		api_splice_rv(out, kv.val, kv.val_len, kv.mod_rev);
	store_snap_end(sn);
	if (rc == -ENOENT)
		return fail_not_found(st, t->k, t->name);
	if (rc < 0)
		return fail_store(st, t->k, t->name, rc, NULL);
	return 0;
}

/* Continue tokens: base64 of {"v":"meta.k8s.io/v1","rv":N,"start":"key"}, as upstream. */
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_encode(const char *in, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)(uint8_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)(uint8_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (uint8_t)in[i + 2];
		buf_addc(out, b64[(v >> 18) & 63]);
		buf_addc(out, b64[(v >> 12) & 63]);
		buf_addc(out, i + 1 < n ? b64[(v >> 6) & 63] : '=');
		buf_addc(out, i + 2 < n ? b64[v & 63] : '=');
	}
}

static bool b64_decode(const char *in, struct buf *out)
{
	uint32_t v = 0;
	int bits = 0;
	for (; *in && *in != '='; in++) {
		const char *p = strchr(b64, *in);
		int d;
		if (*in == '-')
			d = 62;
		else if (*in == '_')
			d = 63;
		else if (!p || !*in)
			return false;
		else
			d = (int)(p - b64);
		v = (v << 6) | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_addc(out, (char)((v >> bits) & 0xff));
		}
	}
	return true;
}

static void make_continue(uint64_t rev, const char *start, struct buf *out)
{
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "v", "meta.k8s.io/v1");
	cJSON_AddNumberToObject(c, "rv", (double)rev);
	cJSON_AddStringToObject(c, "start", start);
	char *s = cJSON_PrintUnformatted(c);
	b64_encode(s, strlen(s), out);
	free(s);
	cJSON_Delete(c);
}

static int parse_continue(const char *tok, uint64_t *rev, char **start, struct api_status *st)
{
	struct buf b = { 0 };
	cJSON *c = NULL;
	int rc = -1;
	if (!b64_decode(tok, &b) || !b.data || !(c = cJSON_Parse(b.data)))
		goto out;
	const cJSON *rv = cJSON_GetObjectItemCaseSensitive(c, "rv");
	const char *s = api_str(c, "start");
	const char *v = api_str(c, "v");
	if (!cJSON_IsNumber(rv) || rv->valuedouble < 1 || !s || !v || strcmp(v, "meta.k8s.io/v1"))
		goto out;
	*rev = (uint64_t)rv->valuedouble;
	*start = xstrdup(s);
	rc = 0;
out:
	cJSON_Delete(c);
	buf_free(&b);
	if (rc < 0)
		api_fail(st, 400, "BadRequest", "continue key is not valid: %s", "malformed token");
	return rc;
}

/* Chooses the snapshot revision for a list: newest, or a given one. */
static int list_snap(struct api *a, const struct api_target *t, const struct api_list_opts *o,
                     struct store_snap **sn, char **start, struct api_status *st)
{
	uint64_t rev = 0;
	struct err e = { 0 };
	int rc;

	*start = NULL;
	if (o->cont && *o->cont) {
		if (o->resource_version && *o->resource_version && strcmp(o->resource_version, "0"))
			return api_fail(st, 400, "BadRequest",
			                "specifying resource version is not allowed when using "
			                "continue");
		if (parse_continue(o->cont, &rev, start, st) < 0)
			return -1;
		rc = store_snap_begin(a->store, rev, sn, &e);
		if (rc == STORE_E_COMPACTED) {
			free(*start);
			*start = NULL;
			return api_fail(
			    st, 410, "Expired",
			    "The provided continue parameter is too old to display a "
			    "consistent list result. You can start a new list without the "
			    "continue parameter.");
		}
	} else if (o->resource_version && *o->resource_version &&
	           strcmp(o->resource_version, "0")) {
		if (!parse_u64(o->resource_version, &rev))
			return api_fail(st, 400, "BadRequest", "invalid resource version: %s",
			                o->resource_version);
		if (o->rv_match == API_RV_EXACT) {
			rc = store_snap_begin(a->store, rev, sn, &e);
		} else {
			if (rev > store_rev(a->store))
				return api_fail(st, 504, "Timeout",
				                "Too large resource version: %llu, current: %llu",
				                (unsigned long long)rev,
				                (unsigned long long)store_rev(a->store));
			rc = store_snap_begin(a->store, 0, sn, &e);
		}
	} else {
		if (o->rv_match == API_RV_EXACT)
			return api_fail(st, 400, "BadRequest",
			                "resourceVersionMatch \"Exact\" needs a resourceVersion");
		rc = store_snap_begin(a->store, 0, sn, &e);
	}
	if (rc == STORE_E_COMPACTED)
		return api_fail(st, 410, "Expired", "too old resource version: %llu (%llu)",
		                (unsigned long long)rev,
		                (unsigned long long)store_compacted_rev(a->store));
	if (rc == STORE_E_FUTURE)
		return api_fail(st, 504, "Timeout", "Too large resource version: %llu",
		                (unsigned long long)rev);
	if (rc < 0) {
		free(*start);
		*start = NULL;
		return fail_store(st, t->k, NULL, rc, &e);
	}
	return 0;
}

struct list_walk {
	const struct api_target *t;
	const struct api_list_opts *o;
	struct buf *out;                  /* JSON text mode */
	int (*fn)(void *arg, cJSON *obj); /* parsed mode */
	void *arg;
	long want, got;
	size_t expect; /* items the range may hold, to size the output once */
	bool more;
	char last[STORE_MAX_KEY + 2];
	int rc;
};

static int list_item(void *arg, const struct store_kv *kv)
{
	struct list_walk *w = arg;
	cJSON *obj = NULL;
	bool need_parse = w->fn || w->o->filter.match || w->t->k->from_storage;
	if (need_parse) {
		obj = api_from_storage_kind(w->t->k, kv->val, kv->val_len, kv->mod_rev);
		if (!obj)
			return 0; /* a damaged value is skipped, never served */
		if (w->o->filter.match && !w->o->filter.match(w->o->filter.arg, w->t->k, obj)) {
			cJSON_Delete(obj);
			return 0;
		}
	}
	if (w->want && w->got == w->want) {
		/* One more match exists: there is a next page. */
		w->more = true;
		cJSON_Delete(obj);
		return 1;
	}
	w->got++;
	snprintf(w->last, sizeof(w->last), "%s", kv->key);
	if (w->out) {
		/* One allocation for the whole list: growing by doubling copies and faults in
		 * fresh pages over and over, which costs more than building the list. */
		if (w->got == 1 && w->expect > 1)
			buf_reserve(w->out, w->expect * (kv->val_len + kv->val_len / 8 + 32));
		if (w->got > 1)
			buf_addc(w->out, ',');
		if (w->t->k->from_storage)
			obj_print_buf(w->out, obj, 0);
		else
			api_splice_rv(w->out, kv->val, kv->val_len, kv->mod_rev);
	}
	if (w->fn)
		w->rc = w->fn(w->arg, obj);
	cJSON_Delete(obj);
	return w->rc ? 1 : 0;
}

static int list_walk(struct api *a, const struct api_target *t, const struct api_list_opts *o,
                     struct list_walk *w, uint64_t *rev, char *cont_out, size_t cont_n,
                     struct api_status *st)
{
	struct store_snap *sn;
	char *start = NULL, prefix[STORE_MAX_KEY + 64];
	int rc;

	if (list_snap(a, t, o, &sn, &start, st) < 0)
		return -1;
	api_prefix(t->k, t->ns, prefix, sizeof(prefix));
	w->want = o->limit > 0 ? o->limit : 0;
	if (w->out && store_snap_count(sn, prefix, &w->expect) == 0 && w->want &&
	    w->expect > (size_t)w->want)
		w->expect = (size_t)w->want;
	rc = store_snap_range(sn, prefix, start, 0, list_item, w, NULL);
	*rev = store_snap_rev(sn);
	store_snap_end(sn);
	free(start);
	if (rc < 0)
		return fail_store(st, t->k, NULL, rc, NULL);
	if (cont_out) {
		cont_out[0] = '\0';
		if (w->more) {
			struct buf b = { 0 };
			char next[STORE_MAX_KEY + 3];
			/* The next page starts just after the last key returned. */
			snprintf(next, sizeof(next), "%s\x01", w->last);
			make_continue(*rev, next, &b);
			snprintf(cont_out, cont_n, "%s", b.data);
			buf_free(&b);
		}
	}
	return 0;
}

int api_list(struct api *a, const struct api_target *t, const struct api_list_opts *o,
             struct buf *out, struct api_status *st)
{
	char av[64];
	char cont[STORE_MAX_KEY * 2 + 128];
	struct list_walk w = { .t = t, .o = o, .out = out };
	uint64_t rev = 0;
	size_t start = out->len;

	/* Items straight into out, metadata after them (known only at the end; JSON clients do
	 * not mind the order), so a large list is never copied. */
	reg_api_version(t->k, av, sizeof(av));
	buf_printf(out, "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"items\":[", t->k->list_kind, av);
	if (list_walk(a, t, o, &w, &rev, cont, sizeof(cont), st) < 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
		return -1;
	}
	buf_printf(out, "],\"metadata\":{\"resourceVersion\":\"%llu\"", (unsigned long long)rev);
	if (cont[0])
		buf_printf(out, ",\"continue\":\"%s\"", cont);
	buf_adds(out, "}}");
	return 0;
}

int api_list_each(struct api *a, const struct api_target *t, const struct api_list_opts *o,
                  int (*fn)(void *arg, cJSON *obj), void *arg, uint64_t *rev, struct api_status *st)
{
	struct list_walk w = { .t = t, .o = o, .fn = fn, .arg = arg };
	uint64_t r = 0;
	int rc = list_walk(a, t, o, &w, &r, NULL, 0, st);
	if (rev)
		*rev = r;
	return rc;
}
