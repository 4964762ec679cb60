/* spec: pure functions from a pod spec to what the runtime is given: environment (service
 * links, envFrom, valueFrom, $(VAR) expansion), resources, DNS, hostname, back-off. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/kubelet/kubelet-internal.h"
#include "core/obj/obj.h"

/* --- arena ------------------------------------------------------------------------------ */

void *kl_alloc(struct kl_arena *a, size_t n)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->p = xrealloc(a->p, a->cap * sizeof(void *));
	}
	void *p = xcalloc(1, n ? n : 1);
	a->p[a->n++] = p;
	return p;
}

char *kl_strdup(struct kl_arena *a, const char *s)
{
	size_t n = strlen(s ? s : "");
	char *p = kl_alloc(a, n + 1);
	memcpy(p, s ? s : "", n);
	return p;
}

char *kl_printf(struct kl_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct buf b = { 0 };
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	char *s = kl_strdup(a, b.data ? b.data : "");
	buf_free(&b);
	return s;
}

void kl_arena_free(struct kl_arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->p[i]);
	free(a->p);
	a->p = NULL;
	a->n = a->cap = 0;
}

/* --- environment lists ------------------------------------------------------------------- */

void kl_envs_set(struct kl_envs *e, const char *name, const char *value)
{
	for (size_t i = 0; i < e->n; i++) {
		if (!strcmp(e->v[i].name, name)) {
			free(e->v[i].value);
			e->v[i].value = xstrdup(value);
			return;
		}
	}
	e->v = xrealloc(e->v, (e->n + 1) * sizeof(*e->v));
	e->v[e->n].name = xstrdup(name);
	e->v[e->n].value = xstrdup(value);
	e->n++;
}

const char *kl_envs_get(const struct kl_envs *e, const char *name)
{
	for (size_t i = 0; e && i < e->n; i++)
		if (!strcmp(e->v[i].name, name))
			return e->v[i].value;
	return NULL;
}

void kl_envs_free(struct kl_envs *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i].name);
		free(e->v[i].value);
	}
	free(e->v);
	e->v = NULL;
	e->n = 0;
}

/*
 * $(VAR) references, as upstream's third_party/forked/golang/expansion: "$$" is an escaped
 * "$", "$(NAME)" is replaced when NAME is defined and kept verbatim when it is not, and a
 * "$" before anything else (or an unclosed "$(") is copied as it is.
 */
char *kl_expand(const char *s, const struct kl_envs *env)
{
	struct buf b = { 0 };
	if (!s)
		return xstrdup("");
	for (size_t i = 0; s[i];) {
		if (s[i] != '$' || !s[i + 1]) {
			buf_addc(&b, s[i++]);
			continue;
		}
		if (s[i + 1] == '$') {
			buf_addc(&b, '$');
			i += 2;
			continue;
		}
		if (s[i + 1] == '(') {
			const char *close = strchr(s + i + 2, ')');
			if (!close) {
				buf_adds(&b, s + i);
				break;
			}
			size_t n = (size_t)(close - (s + i + 2));
			char *name = xstrndup(s + i + 2, n);
			const char *v = kl_envs_get(env, name);
			if (v)
				buf_adds(&b, v);
			else
				buf_add(&b, s + i, n + 3);
			free(name);
			i += n + 3;
			continue;
		}
		buf_addc(&b, s[i++]);
	}
	return b.data ? buf_steal(&b) : xstrdup("");
}

/* --- base64 ------------------------------------------------------------------------------- */

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Standard base64 (padding optional, whitespace skipped); NULL on junk. Caller frees; the
 * result is NUL-terminated for convenience. */
char *kl_b64_decode(const char *s, size_t *len)
{
	size_t n = strlen(s);
	char *out = xmalloc(n / 4 * 3 + 4);
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '=')
			break;
		if (isspace(c))
			continue;
		int v = b64val(c);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	if (len)
		*len = o;
	return out;
}

/* --- downward API -------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A map as the downward API writes it: key="value" lines, sorted, values quoted as Go's
 * strconv.Quote does for printable text. */
static char *format_map(const cJSON *m)
{
	size_t n = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, (cJSON_IsObject(m) ? m : NULL)) n++;
	char **keys = xcalloc(n + 1, sizeof(char *));
	n = 0;
	cJSON_ArrayForEach(it, (cJSON_IsObject(m) ? m : NULL))
	{
		if (cJSON_IsString(it))
			keys[n++] = it->string;
	}
	qsort(keys, n, sizeof(char *), cmp_str);
	struct buf b = { 0 };
	for (size_t i = 0; i < n; i++) {
		const char *v = cJSON_GetObjectItemCaseSensitive(m, keys[i])->valuestring;
		if (i)
			buf_addc(&b, '\n');
		buf_printf(&b, "%s=\"", keys[i]);
		for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_printf(&b, "\\%c", *p);
			else if (*p == '\n')
				buf_adds(&b, "\\n");
			else if (*p == '\t')
				buf_adds(&b, "\\t");
			else if (*p < 0x20 || *p == 0x7f)
				buf_printf(&b, "\\x%02x", *p);
			else
				buf_addc(&b, (char)*p);
		}
		buf_addc(&b, '"');
	}
	free(keys);
	return b.data ? buf_steal(&b) : xstrdup("");
}

/* "metadata.labels['key']" → key (new string), or NULL when path is not of that form. */
static char *subscript(const char *path, const char *prefix)
{
	size_t pl = strlen(prefix);
	if (strncmp(path, prefix, pl) || strncmp(path + pl, "['", 2))
		return NULL;
	const char *k = path + pl + 2;
	size_t n = strlen(k);
	if (n < 2 || strcmp(k + n - 2, "']"))
		return NULL;
	return xstrndup(k, n - 2);
}

int kl_field_ref(const struct kl_env_ctx *ctx, const char *path, char **out, struct err *e)
{
	const cJSON *pod = ctx->pod;
	const char *s = NULL;
	char *key;
	*out = NULL;
	if (!path)
		return err_set(e, -EINVAL, "fieldRef without fieldPath");
	if (!strcmp(path, "metadata.name") || !strcmp(path, "metadata.namespace") ||
	    !strcmp(path, "metadata.uid") || !strcmp(path, "spec.nodeName") ||
	    !strcmp(path, "spec.serviceAccountName")) {
		s = obj_get_str(pod, path);
	} else if (!strcmp(path, "metadata.labels") || !strcmp(path, "metadata.annotations")) {
		*out = format_map(obj_get(pod, path));
		return 0;
	} else if ((key = subscript(path, "metadata.labels")) ||
	           (key = subscript(path, "metadata.annotations"))) {
		const cJSON *m =
		    obj_get(pod, str_has_prefix(path, "metadata.labels") ? "metadata.labels"
		                                                         : "metadata.annotations");
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, key);
		free(key);
		s = cJSON_IsString(v) ? v->valuestring : "";
	} else if (!strcmp(path, "status.podIPs") && ctx->pod_ip && ctx->pod_ip2) {
		*out = xasprintf("%s,%s", ctx->pod_ip, ctx->pod_ip2);
		return 0;
	} else if (!strcmp(path, "status.podIP") || !strcmp(path, "status.podIPs")) {
		s = ctx->pod_ip;
	} else if (!strcmp(path, "status.hostIP") || !strcmp(path, "status.hostIPs")) {
		s = ctx->host_ip;
	} else {
		return err_set(e, -EINVAL, "unsupported fieldPath: %s", path);
	}
	*out = xstrdup(s ? s : "");
	return 0;
}

static const cJSON *find_container(const cJSON *pod, const char *name)
{
	static const char *const lists[] = { "spec.containers", "spec.initContainers" };
	for (size_t l = 0; l < 2; l++) {
		const cJSON *c;
		cJSON_ArrayForEach(c, obj_get(pod, lists[l]))
		{
			const char *n = obj_get_str(c, "name");
			if (n && !strcmp(n, name))
				return c;
		}
	}
	return NULL;
}

int kl_resource_ref(const struct kl_env_ctx *ctx, const cJSON *c, const cJSON *ref, char **out,
                    struct err *e)
{
	const char *cname = obj_get_str(ref, "containerName");
	const char *res = obj_get_str(ref, "resource");
	*out = NULL;
	if (cname && *cname) {
		c = find_container(ctx->pod, cname);
		if (!c)
			return err_set(e, -EINVAL, "resourceFieldRef: no container %s", cname);
	}
	if (!c || !res)
		return err_set(e, -EINVAL, "resourceFieldRef needs a container and a resource");
	const char *dot = strchr(res, '.');
	if (!dot || (strncmp(res, "limits.", 7) && strncmp(res, "requests.", 9)))
		return err_set(e, -EINVAL, "unsupported resource: %s", res);
	bool limits = !strncmp(res, "limits.", 7);
	const char *name = dot + 1;
	bool cpu = !strcmp(name, "cpu");
	struct qty q, div;
	const cJSON *v = obj_get(obj_get(c, "resources"), limits ? "limits" : "requests");
	v = cJSON_GetObjectItemCaseSensitive(v, name);
	if (!v || qty_from_json(v, &q, NULL) < 0) {
		/* No limit: what the node can give (upstream merges in node allocatable). */
		if (limits && cpu)
			qty_from_milli(&q, ctx->node_cpu_milli, QTY_DECIMAL_SI);
		else if (limits && !strcmp(name, "memory"))
			qty_from_int(&q, ctx->node_mem_bytes, QTY_BINARY_SI);
		else
			qty_from_int(&q, 0, QTY_DECIMAL_SI);
	}
	const cJSON *dv = obj_get(ref, "divisor");
	if (!dv || qty_from_json(dv, &div, NULL) < 0 || qty_is_zero(&div))
		qty_from_int(&div, 1, QTY_DECIMAL_SI);
	int64_t a, d;
	if (cpu) {
		/* cores rounded up in units of the divisor (1 core unless said otherwise) */
		if (qty_milli(&q, &a) < 0 || qty_milli(&div, &d) < 0 || d <= 0)
			return err_set(e, -ERANGE, "resourceFieldRef %s out of range", res);
	} else {
		if (qty_value(&q, &a) < 0 || qty_value(&div, &d) < 0 || d <= 0)
			return err_set(e, -ERANGE, "resourceFieldRef %s out of range", res);
	}
	int64_t r = a / d + (a % d ? 1 : 0);
	*out = xasprintf("%lld", (long long)r);
	return 0;
}

/* --- environment -------------------------------------------------------------------------- */

static void env_name_of(const char *svc, char *out, size_t n)
{
	size_t i = 0;
	for (; svc[i] && i + 1 < n; i++)
		out[i] = svc[i] == '-' ? '_' : (char)toupper((unsigned char)svc[i]);
	out[i] = '\0';
}

static void service_env(struct kl_envs *env, const cJSON *svc)
{
	const char *ip = obj_get_str(svc, "spec.clusterIP");
	const char *name = obj_get_str(svc, "metadata.name");
	const cJSON *ports = obj_get(svc, "spec.ports");
	if (!ip || !*ip || !strcmp(ip, "None") || !name || !cJSON_GetArraySize(ports))
		return;
	char pre[128], k[320], v[256];
	env_name_of(name, pre, sizeof(pre));
	bool v6 = strchr(ip, ':') != NULL;
	snprintf(k, sizeof(k), "%s_SERVICE_HOST", pre);
	kl_envs_set(env, k, ip);
	int i = 0;
	const cJSON *p;
	cJSON_ArrayForEach(p, ports)
	{
		int64_t port = 0;
		obj_get_i64(p, "port", &port);
		const char *pn = obj_get_str(p, "name");
		const char *proto = obj_get_str(p, "protocol");
		char lproto[16], uproto[16];
		snprintf(lproto, sizeof(lproto), "%s", proto && *proto ? proto : "TCP");
		snprintf(uproto, sizeof(uproto), "%s", lproto);
		for (char *c = lproto; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		for (char *c = uproto; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		snprintf(v, sizeof(v), "%lld", (long long)port);
		if (i == 0) {
			snprintf(k, sizeof(k), "%s_SERVICE_PORT", pre);
			kl_envs_set(env, k, v);
		}
		if (pn && *pn) {
			char up[128];
			env_name_of(pn, up, sizeof(up));
			snprintf(k, sizeof(k), "%s_SERVICE_PORT_%s", pre, up);
			kl_envs_set(env, k, v);
		}
		char hostport[128];
		snprintf(hostport, sizeof(hostport), v6 ? "[%s]:%lld" : "%s:%lld", ip,
		         (long long)port);
		char url[200];
		snprintf(url, sizeof(url), "%s://%s", lproto, hostport);
		if (i == 0) {
			snprintf(k, sizeof(k), "%s_PORT", pre);
			kl_envs_set(env, k, url);
		}
		char pp[200];
		snprintf(pp, sizeof(pp), "%s_PORT_%lld_%s", pre, (long long)port, uproto);
		kl_envs_set(env, pp, url);
		snprintf(k, sizeof(k), "%s_PROTO", pp);
		kl_envs_set(env, k, lproto);
		snprintf(k, sizeof(k), "%s_PORT", pp);
		kl_envs_set(env, k, v);
		snprintf(k, sizeof(k), "%s_ADDR", pp);
		kl_envs_set(env, k, ip);
		i++;
	}
}

/* Service links: the namespace's Services (when enabled) and always the kubernetes one. */
static void service_links(const struct kl_env_ctx *ctx, struct kl_envs *env)
{
	bool links = true;
	obj_get_bool(ctx->pod, "spec.enableServiceLinks", &links);
	const char *ns = obj_get_str(ctx->pod, "metadata.namespace");
	const cJSON *svc;
	/* Sorted by name so a container's environment is the same at every start. */
	size_t n = 0;
	const cJSON *all[2] = { ctx->master_services, links ? ctx->services : NULL };
	for (int l = 0; l < 2; l++)
		cJSON_ArrayForEach(svc, all[l]) n++;
	const cJSON **v = xcalloc(n + 1, sizeof(*v));
	n = 0;
	for (int l = 0; l < 2; l++) {
		cJSON_ArrayForEach(svc, all[l])
		{
			const char *sns = obj_get_str(svc, "metadata.namespace");
			/* the pod's own namespace wins over the master services' */
			if (l == 0 && links && ns && sns && !strcmp(ns, sns))
				continue;
			v[n++] = svc;
		}
	}
	for (size_t i = 1; i < n; i++) {
		for (size_t j = i; j > 0; j--) {
			const char *a = obj_get_str(v[j - 1], "metadata.name"),
			           *b = obj_get_str(v[j], "metadata.name");
			if (a && b && strcmp(a, b) > 0) {
				const cJSON *t = v[j - 1];
				v[j - 1] = v[j];
				v[j] = t;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		service_env(env, v[i]);
	free(v);
}

/* A ConfigMap's or Secret's value for key as text (secrets are base64 in data). */
static char *source_value(const cJSON *obj, const char *key, bool secret)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj_get(obj, "data"), key);
	if (secret) {
		if (cJSON_IsString(v))
			return kl_b64_decode(v->valuestring, NULL);
		v = cJSON_GetObjectItemCaseSensitive(obj_get(obj, "stringData"), key);
		return cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
	}
	if (cJSON_IsString(v))
		return xstrdup(v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(obj_get(obj, "binaryData"), key);
	return cJSON_IsString(v) ? kl_b64_decode(v->valuestring, NULL) : NULL;
}

static int key_ref(const struct kl_env_ctx *ctx, const cJSON *ref, bool secret, char **out,
                   struct err *e)
{
	const char *ns = obj_get_str(ctx->pod, "metadata.namespace");
	const char *name = obj_get_str(ref, "name"), *key = obj_get_str(ref, "key");
	bool optional = false;
	obj_get_bool(ref, "optional", &optional);
	*out = NULL;
	if (!name || !key)
		return err_set(e, -EINVAL, "%s needs a name and a key",
		               secret ? "secretKeyRef" : "configMapKeyRef");
	const cJSON *obj = secret ? ctx->secret(ctx->lookup_arg, ns, name)
	                          : ctx->configmap(ctx->lookup_arg, ns, name);
	if (!obj) {
		if (optional)
			return 0;
		return err_set(e, -ENOENT, "%s \"%s\" not found", secret ? "secret" : "configmap",
		               name);
	}
	*out = source_value(obj, key, secret);
	if (!*out && !optional)
		return err_set(e, -ENOENT, "couldn't find key %s in %s %s/%s", key,
		               secret ? "Secret" : "ConfigMap", ns ? ns : "", name);
	return 0;
}

int kl_container_env(const struct kl_env_ctx *ctx, const cJSON *c, struct kl_envs *out,
                     struct err *e)
{
	const char *ns = obj_get_str(ctx->pod, "metadata.namespace");
	struct kl_envs env = { 0 };
	service_links(ctx, &env);
	const cJSON *src;
	cJSON_ArrayForEach(src, obj_get(c, "envFrom"))
	{
		const char *prefix = obj_get_str(src, "prefix");
		for (int s = 0; s < 2; s++) {
			const cJSON *ref = obj_get(src, s ? "secretRef" : "configMapRef");
			if (!cJSON_IsObject(ref))
				continue;
			const char *name = obj_get_str(ref, "name");
			bool optional = false;
			obj_get_bool(ref, "optional", &optional);
			const cJSON *obj = !name ? NULL
			                   : s   ? ctx->secret(ctx->lookup_arg, ns, name)
			                         : ctx->configmap(ctx->lookup_arg, ns, name);
			if (!obj) {
				if (optional)
					continue;
				kl_envs_free(&env);
				return err_set(e, -ENOENT, "%s \"%s\" not found",
				               s ? "secret" : "configmap", name ? name : "");
			}
			const cJSON *kv;
			cJSON_ArrayForEach(kv, obj_get(obj, "data"))
			{
				if (!kv->string[0] || strchr(kv->string, '='))
					continue; /* upstream skips names that cannot be variables */
				char *val = source_value(obj, kv->string, s);
				char *n = xasprintf("%s%s", prefix ? prefix : "", kv->string);
				kl_envs_set(&env, n, val ? val : "");
				free(n);
				free(val);
			}
		}
	}
	const cJSON *ev;
	cJSON_ArrayForEach(ev, obj_get(c, "env"))
	{
		const char *name = obj_get_str(ev, "name");
		if (!name || !*name)
			continue;
		const cJSON *from = obj_get(ev, "valueFrom");
		char *val = NULL;
		int r = 0;
		if (!cJSON_IsObject(from)) {
			val = kl_expand(obj_get_str(ev, "value"), &env);
		} else if (cJSON_IsObject(obj_get(from, "fieldRef"))) {
			r = kl_field_ref(ctx, obj_get_str(from, "fieldRef.fieldPath"), &val, e);
		} else if (cJSON_IsObject(obj_get(from, "resourceFieldRef"))) {
			r = kl_resource_ref(ctx, c, obj_get(from, "resourceFieldRef"), &val, e);
		} else if (cJSON_IsObject(obj_get(from, "configMapKeyRef"))) {
			r = key_ref(ctx, obj_get(from, "configMapKeyRef"), false, &val, e);
			if (r == 0 && !val)
				continue; /* optional and absent: no variable */
		} else if (cJSON_IsObject(obj_get(from, "secretKeyRef"))) {
			r = key_ref(ctx, obj_get(from, "secretKeyRef"), true, &val, e);
			if (r == 0 && !val)
				continue;
		} else {
			val = xstrdup("");
		}
		if (r < 0) {
			kl_envs_free(&env);
			return r;
		}
		kl_envs_set(&env, name, val ? val : "");
		free(val);
	}
	*out = env;
	return 0;
}

/* --- resources --------------------------------------------------------------------------- */

static bool res_milli(const cJSON *c, const char *which, const char *name, int64_t *out)
{
	const cJSON *v =
	    cJSON_GetObjectItemCaseSensitive(obj_get(obj_get(c, "resources"), which), name);
	struct qty q;
	if (!v || qty_from_json(v, &q, NULL) < 0 || qty_milli(&q, out) < 0)
		return false;
	return true;
}

static bool res_value(const cJSON *c, const char *which, const char *name, int64_t *out)
{
	const cJSON *v =
	    cJSON_GetObjectItemCaseSensitive(obj_get(obj_get(c, "resources"), which), name);
	struct qty q;
	if (!v || qty_from_json(v, &q, NULL) < 0 || qty_value(&q, out) < 0)
		return false;
	return true;
}

#define MIN_SHARES 2
#define MAX_SHARES 262144
#define QUOTA_PERIOD 100000
#define MIN_QUOTA 1000

static int64_t milli_to_shares(int64_t milli)
{
	if (milli <= 0)
		return MIN_SHARES;
	int64_t s = milli * 1024 / 1000;
	return s < MIN_SHARES ? MIN_SHARES : s > MAX_SHARES ? MAX_SHARES : s;
}

void kl_container_resources(const cJSON *pod, const cJSON *c, int64_t node_mem_bytes,
                            struct kl_resources *r)
{
	memset(r, 0, sizeof(*r));
	int64_t req = 0, lim = 0, mem = 0, memreq = 0;
	bool has_req = res_milli(c, "requests", "cpu", &req) && req > 0;
	bool has_lim = res_milli(c, "limits", "cpu", &lim) && lim > 0;
	/* As upstream: shares follow the request, or the limit when only that is set. */
	r->cpu_shares = milli_to_shares(has_req ? req : has_lim ? lim : 0);
	if (has_lim) {
		r->cpu_period = QUOTA_PERIOD;
		r->cpu_quota = lim * QUOTA_PERIOD / 1000;
		if (r->cpu_quota < MIN_QUOTA)
			r->cpu_quota = MIN_QUOTA;
	}
	if (res_value(c, "limits", "memory", &mem) && mem > 0)
		r->memory_limit = mem;
	/* OOM score by QoS class, as upstream's GetContainerOOMScoreAdjust. */
	switch (obj_pod_qos(pod)) {
	case OBJ_QOS_GUARANTEED:
		r->oom_score_adj = -997;
		break;
	case OBJ_QOS_BEST_EFFORT:
		r->oom_score_adj = 1000;
		break;
	default:
		res_value(c, "requests", "memory", &memreq);
		if (node_mem_bytes <= 0)
			node_mem_bytes = 1;
		r->oom_score_adj = 1000 - (1000 * (memreq / 1024)) / (node_mem_bytes / 1024 + 1);
		if (r->oom_score_adj < 1000 - 997)
			r->oom_score_adj = 1000 - 997;
		if (r->oom_score_adj >= 1000)
			r->oom_score_adj = 999;
		break;
	}
}

/* --- DNS --------------------------------------------------------------------------------- */

static void add_str(char ***v, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i], s))
			return;
	*v = xrealloc(*v, (*n + 1) * sizeof(char *));
	(*v)[(*n)++] = xstrdup(s);
}

/* Options are "name" or "name:value"; a later one with the same name replaces. */
static void add_option(struct kl_dns *d, const char *name, const char *value)
{
	char *s = value ? xasprintf("%s:%s", name, value) : xstrdup(name);
	size_t nl = strlen(name);
	for (size_t i = 0; i < d->noptions; i++) {
		if (!strncmp(d->options[i], name, nl) &&
		    (d->options[i][nl] == ':' || !d->options[i][nl])) {
			free(d->options[i]);
			d->options[i] = s;
			return;
		}
	}
	d->options = xrealloc(d->options, (d->noptions + 1) * sizeof(char *));
	d->options[d->noptions++] = s;
}

static void parse_resolv(const char *text, struct kl_dns *d, bool servers)
{
	if (!text)
		return;
	char *copy = xstrdup(text), *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *hash = strpbrk(line, "#;");
		if (hash)
			*hash = '\0';
		char *ws = NULL, *word = strtok_r(line, " \t\r", &ws);
		if (!word)
			continue;
		bool ns = !strcmp(word, "nameserver"),
		     search = !strcmp(word, "search") || !strcmp(word, "domain"),
		     opt = !strcmp(word, "options");
		if (search && !strcmp(word, "search")) {
			/* a later search line replaces an earlier one */
			for (size_t i = 0; i < d->nsearches; i++)
				free(d->searches[i]);
			d->nsearches = 0;
		}
		for (char *w = strtok_r(NULL, " \t\r", &ws); w; w = strtok_r(NULL, " \t\r", &ws)) {
			if (ns && servers)
				add_str(&d->servers, &d->nservers, w);
			else if (search)
				add_str(&d->searches, &d->nsearches, w);
			else if (opt) {
				char *colon = strchr(w, ':');
				if (colon)
					*colon = '\0';
				add_option(d, w, colon ? colon + 1 : NULL);
			}
		}
	}
	free(copy);
}

void kl_pod_dns(const cJSON *pod, const struct kl_dns_ctx *ctx, struct kl_dns *out)
{
	memset(out, 0, sizeof(*out));
	const char *policy = obj_get_str(pod, "spec.dnsPolicy");
	bool host_net = false;
	obj_get_bool(pod, "spec.hostNetwork", &host_net);
	if (!policy)
		policy = "ClusterFirst";
	bool cluster = !strcmp(policy, "ClusterFirstWithHostNet") ||
	               (!strcmp(policy, "ClusterFirst") && !host_net);
	if (cluster && !(ctx->cluster_dns && *ctx->cluster_dns))
		cluster = false; /* no cluster DNS configured: upstream falls back to Default */
	if (!strcmp(policy, "None")) {
		/* only what dnsConfig says */
	} else if (cluster) {
		const char *ns = obj_get_str(pod, "metadata.namespace");
		const char *dom = ctx->cluster_domain && *ctx->cluster_domain ? ctx->cluster_domain
		                                                              : "cluster.local";
		char s[512];
		add_str(&out->servers, &out->nservers, ctx->cluster_dns);
		snprintf(s, sizeof(s), "%s.svc.%s", ns ? ns : "default", dom);
		add_str(&out->searches, &out->nsearches, s);
		snprintf(s, sizeof(s), "svc.%s", dom);
		add_str(&out->searches, &out->nsearches, s);
		add_str(&out->searches, &out->nsearches, dom);
		/* and the host's search domains after the cluster's */
		parse_resolv(ctx->resolv_conf_text, out, false);
		for (size_t i = 0; i < out->noptions; i++)
			free(out->options[i]);
		out->noptions = 0;
		add_option(out, "ndots", "5");
	} else {
		parse_resolv(ctx->resolv_conf_text, out, true);
	}
	const cJSON *cfg = obj_get(pod, "spec.dnsConfig"), *it;
	cJSON_ArrayForEach(it, obj_get(cfg, "nameservers"))
	{
		if (cJSON_IsString(it))
			add_str(&out->servers, &out->nservers, it->valuestring);
	}
	cJSON_ArrayForEach(it, obj_get(cfg, "searches"))
	{
		if (cJSON_IsString(it))
			add_str(&out->searches, &out->nsearches, it->valuestring);
	}
	cJSON_ArrayForEach(it, obj_get(cfg, "options"))
	{
		const char *n = obj_get_str(it, "name"), *v = obj_get_str(it, "value");
		if (n && *n)
			add_option(out, n, v);
	}
	/* resolv.conf limits, as upstream enforces them */
	while (out->nservers > 3)
		free(out->servers[--out->nservers]);
	while (out->nsearches > 32)
		free(out->searches[--out->nsearches]);
}

void kl_dns_free(struct kl_dns *d)
{
	for (size_t i = 0; i < d->nservers; i++)
		free(d->servers[i]);
	for (size_t i = 0; i < d->nsearches; i++)
		free(d->searches[i]);
	for (size_t i = 0; i < d->noptions; i++)
		free(d->options[i]);
	free(d->servers);
	free(d->searches);
	free(d->options);
	memset(d, 0, sizeof(*d));
}

/* --- hostname, hash, back-off ----------------------------------------------------------- */

void kl_pod_hostname(const cJSON *pod, char out[64])
{
	const char *h = obj_get_str(pod, "spec.hostname");
	if (!h || !*h)
		h = obj_get_str(pod, "metadata.name");
	snprintf(out, 64, "%s", h ? h : "pod");
	/* cut to a DNS label, as upstream: no trailing '-' or '.' */
	size_t n = strlen(out);
	while (n > 0 && (out[n - 1] == '-' || out[n - 1] == '.'))
		out[--n] = '\0';
}

char *kl_container_hash(const cJSON *c)
{
	/* Only the image may change in a running pod's containers; the name and image are
	 * what make a container the same one (a tug upgrade must not restart everything). */
	const char *name = obj_get_str(c, "name"), *image = obj_get_str(c, "image");
	uint32_t h = 2166136261u;
	const char *parts[2] = { name ? name : "", image ? image : "" };
	for (int i = 0; i < 2; i++) {
		for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++)
			h = (h ^ *p) * 16777619u;
		h = (h ^ 0xff) * 16777619u;
	}
	return xasprintf("%08x", h);
}

bool kl_backoff_allow(struct kl_backoff *b, int64_t finished_ns, int64_t now_ns, uint64_t *wait_ms)
{
	const int64_t expire_ns = (int64_t)2 * KL_BACKOFF_MAX_MS * 1000000;
	*wait_ms = 0;
	if (b->ms && finished_ns - b->last_ns <= expire_ns) {
		int64_t since_ns = now_ns - finished_ns;
		if (since_ns < (int64_t)b->ms * 1000000) {
			*wait_ms = (uint64_t)(((int64_t)b->ms * 1000000 - since_ns) / 1000000) + 1;
			return false;
		}
		b->ms = MIN(b->ms * 2, (uint64_t)KL_BACKOFF_MAX_MS);
	} else {
		b->ms = KL_BACKOFF_INITIAL_MS;
	}
	b->last_ns = finished_ns;
	return true;
}
