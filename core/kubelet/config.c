/* config: a pod's PodSandboxConfig and its containers' ContainerConfigs for CRI: metadata,
 * labels and annotations as upstream sets them, DNS, ports, namespaces, mounts, environment,
 * resources and security context. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/kubelet/kubelet-internal.h"
#include "core/obj/obj.h"

/* Every CRI map entry is {base, key, value}: one builder for all of them. */
struct kv_entry {
	ProtobufCMessage base;
	char *key;
	char *value;
};

static void *kv_add(struct kl_arena *a, const ProtobufCMessageDescriptor *d, void ***arr, size_t *n,
                    const char *k, const char *v)
{
	for (size_t i = 0; i < *n; i++) {
		struct kv_entry *e = (*arr)[i];
		if (!strcmp(e->key, k)) {
			e->value = kl_strdup(a, v);
			return e;
		}
	}
	struct kv_entry *e = kl_alloc(a, sizeof(*e));
	protobuf_c_message_init(d, e);
	e->key = kl_strdup(a, k);
	e->value = kl_strdup(a, v);
	void **na = kl_alloc(a, (*n + 1) * sizeof(void *));
	if (*n)
		memcpy(na, *arr, *n * sizeof(void *));
	na[(*n)++] = e;
	*arr = na;
	return e;
}

#define KV_ADD(a, msg, field, desc, k, v)                                                          \
	kv_add((a), &(desc), (void ***)&(msg)->field, &(msg)->n_##field, (k), (v))

static void kv_add_map(struct kl_arena *a, const ProtobufCMessageDescriptor *d, void ***arr,
                       size_t *n, const cJSON *map)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, (cJSON_IsObject(map) ? map : NULL))
	{
		if (cJSON_IsString(it))
			kv_add(a, d, arr, n, it->string, it->valuestring);
	}
}

static char **strv(struct kl_arena *a, char *const *v, size_t n)
{
	char **out = kl_alloc(a, (n + 1) * sizeof(char *));
	for (size_t i = 0; i < n; i++)
		out[i] = kl_strdup(a, v[i]);
	return out;
}

static bool bool_at(const cJSON *o, const char *path)
{
	bool b = false;
	obj_get_bool(o, path, &b);
	return b;
}

char *kl_pod_log_dir(struct kubelet *k, const struct kl_pod *p)
{
	return xasprintf("%s/%s_%s_%s", k->log_dir, p->ns, p->name, p->uid);
}

static Runtime__V1__NamespaceOption *ns_options(struct kl_arena *a, const cJSON *pod)
{
	Runtime__V1__NamespaceOption *o = kl_alloc(a, sizeof(*o));
	runtime__v1__namespace_option__init(o);
	o->network = bool_at(pod, "spec.hostNetwork") ? RUNTIME__V1__NAMESPACE_MODE__NODE
	                                              : RUNTIME__V1__NAMESPACE_MODE__POD;
	o->pid = bool_at(pod, "spec.hostPID") ? RUNTIME__V1__NAMESPACE_MODE__NODE
	         : bool_at(pod, "spec.shareProcessNamespace")
	             ? RUNTIME__V1__NAMESPACE_MODE__POD
	             : RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	o->ipc = bool_at(pod, "spec.hostIPC") ? RUNTIME__V1__NAMESPACE_MODE__NODE
	                                      : RUNTIME__V1__NAMESPACE_MODE__POD;
	return o;
}

static Runtime__V1__Int64Value *i64v(struct kl_arena *a, int64_t v)
{
	Runtime__V1__Int64Value *x = kl_alloc(a, sizeof(*x));
	runtime__v1__int64_value__init(x);
	x->value = v;
	return x;
}

static Runtime__V1__SecurityProfile *seccomp(struct kl_arena *a, const cJSON *sc)
{
	const char *t = obj_get_str(sc, "seccompProfile.type");
	if (!t)
		return NULL;
	Runtime__V1__SecurityProfile *p = kl_alloc(a, sizeof(*p));
	runtime__v1__security_profile__init(p);
	if (!strcmp(t, "RuntimeDefault")) {
		p->profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault;
	} else if (!strcmp(t, "Localhost")) {
		const char *ref = obj_get_str(sc, "seccompProfile.localhostProfile");
		p->profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost;
		p->localhost_ref = kl_strdup(a, ref ? ref : "");
	} else {
		p->profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Unconfined;
	}
	return p;
}

static int64_t *supplemental_groups(struct kl_arena *a, const cJSON *psc, size_t *n)
{
	const cJSON *g, *groups = obj_get(psc, "supplementalGroups");
	int64_t fs, v;
	size_t cnt = (size_t)cJSON_GetArraySize(groups) + 1;
	int64_t *out = kl_alloc(a, cnt * sizeof(int64_t));
	*n = 0;
	if (obj_get_i64(psc, "fsGroup", &fs))
		out[(*n)++] = fs;
	cJSON_ArrayForEach(g, groups)
	{
		if (cJSON_IsNumber(g) && (v = (int64_t)g->valuedouble) >= 0)
			out[(*n)++] = v;
	}
	return out;
}

Runtime__V1__PodSandboxConfig *kl_sandbox_config(struct kl_pod *p, uint32_t attempt,
                                                 struct kl_arena *a)
{
	struct kubelet *k = p->k;
	const cJSON *pod = p->obj;
	Runtime__V1__PodSandboxConfig *cfg = kl_alloc(a, sizeof(*cfg));
	runtime__v1__pod_sandbox_config__init(cfg);
	Runtime__V1__PodSandboxMetadata *md = kl_alloc(a, sizeof(*md));
	runtime__v1__pod_sandbox_metadata__init(md);
	md->name = kl_strdup(a, p->name);
	md->uid = kl_strdup(a, p->uid);
	md->namespace_ = kl_strdup(a, p->ns);
	md->attempt = attempt;
	cfg->metadata = md;
	bool host_net = bool_at(pod, "spec.hostNetwork");
	char host[256] = "";
	if (host_net) {
		gethostname(host, sizeof(host) - 1);
	} else {
		char h[64];
		kl_pod_hostname(pod, h);
		snprintf(host, sizeof(host), "%s", h);
	}
	cfg->hostname = kl_strdup(a, host);
	char *ld = kl_pod_log_dir(k, p);
	cfg->log_directory = kl_strdup(a, ld);
	free(ld);

	char *resolv = NULL;
	read_file(k->resolv_conf, &resolv, NULL, 1 << 16);
	struct kl_dns_ctx dctx = { k->cluster_dns, k->cluster_domain, resolv };
	struct kl_dns dns;
	kl_pod_dns(pod, &dctx, &dns);
	free(resolv);
	Runtime__V1__DNSConfig *dc = kl_alloc(a, sizeof(*dc));
	runtime__v1__dnsconfig__init(dc);
	dc->servers = strv(a, dns.servers, dns.nservers);
	dc->n_servers = dns.nservers;
	dc->searches = strv(a, dns.searches, dns.nsearches);
	dc->n_searches = dns.nsearches;
	dc->options = strv(a, dns.options, dns.noptions);
	dc->n_options = dns.noptions;
	kl_dns_free(&dns);
	cfg->dns_config = dc;

	/* hostPorts of every container */
	size_t np = 0;
	Runtime__V1__PortMapping **pm = NULL;
	const cJSON *c, *port;
	cJSON_ArrayForEach(c, obj_get(pod, "spec.containers"))
	{
		cJSON_ArrayForEach(port, obj_get(c, "ports"))
		{
			int64_t hp = 0, cp = 0;
			if (!obj_get_i64(port, "hostPort", &hp) || hp <= 0 ||
			    !obj_get_i64(port, "containerPort", &cp))
				continue;
			Runtime__V1__PortMapping **n = kl_alloc(a, (np + 1) * sizeof(*n));
			if (np)
				memcpy(n, pm, np * sizeof(*n));
			pm = n;
			Runtime__V1__PortMapping *m = kl_alloc(a, sizeof(*m));
			runtime__v1__port_mapping__init(m);
			const char *proto = obj_get_str(port, "protocol");
			m->protocol = proto && !strcmp(proto, "UDP") ? RUNTIME__V1__PROTOCOL__UDP
			              : proto && !strcmp(proto, "SCTP")
			                  ? RUNTIME__V1__PROTOCOL__SCTP
			                  : RUNTIME__V1__PROTOCOL__TCP;
			m->container_port = (int32_t)cp;
			m->host_port = (int32_t)hp;
			const char *hip = obj_get_str(port, "hostIP");
			m->host_ip = kl_strdup(a, hip ? hip : "");
			pm[np++] = m;
		}
	}
	cfg->port_mappings = pm;
	cfg->n_port_mappings = np;

	kv_add_map(a, &runtime__v1__pod_sandbox_config__labels_entry__descriptor,
	           (void ***)&cfg->labels, &cfg->n_labels, obj_get(pod, "metadata.labels"));
	KV_ADD(a, cfg, labels, runtime__v1__pod_sandbox_config__labels_entry__descriptor,
	       KL_LABEL_POD_NAME, p->name);
	KV_ADD(a, cfg, labels, runtime__v1__pod_sandbox_config__labels_entry__descriptor,
	       KL_LABEL_POD_NS, p->ns);
	KV_ADD(a, cfg, labels, runtime__v1__pod_sandbox_config__labels_entry__descriptor,
	       KL_LABEL_POD_UID, p->uid);
	kv_add_map(a, &runtime__v1__pod_sandbox_config__annotations_entry__descriptor,
	           (void ***)&cfg->annotations, &cfg->n_annotations,
	           obj_get(pod, "metadata.annotations"));

	Runtime__V1__LinuxPodSandboxConfig *lx = kl_alloc(a, sizeof(*lx));
	runtime__v1__linux_pod_sandbox_config__init(lx);
	Runtime__V1__LinuxSandboxSecurityContext *sc = kl_alloc(a, sizeof(*sc));
	runtime__v1__linux_sandbox_security_context__init(sc);
	sc->namespace_options = ns_options(a, pod);
	const cJSON *psc = obj_get(pod, "spec.securityContext");
	int64_t v;
	if (obj_get_i64(psc, "runAsUser", &v))
		sc->run_as_user = i64v(a, v);
	if (obj_get_i64(psc, "runAsGroup", &v))
		sc->run_as_group = i64v(a, v);
	sc->supplemental_groups = supplemental_groups(a, psc, &sc->n_supplemental_groups);
	sc->seccomp = seccomp(a, psc);
	cJSON_ArrayForEach(c, obj_get(pod, "spec.containers"))
	{
		if (bool_at(c, "securityContext.privileged"))
			sc->privileged = true;
	}
	lx->security_context = sc;
	const cJSON *sysctl;
	cJSON_ArrayForEach(sysctl, obj_get(psc, "sysctls"))
	{
		const char *n = obj_get_str(sysctl, "name"), *val = obj_get_str(sysctl, "value");
		if (n && val)
			KV_ADD(a, lx, sysctls,
			       runtime__v1__linux_pod_sandbox_config__sysctls_entry__descriptor, n,
			       val);
	}
	cfg->linux = lx;
	return cfg;
}

/* --- containers ------------------------------------------------------------------------------ */

static const cJSON *volume_spec(const cJSON *pod, const char *name)
{
	const cJSON *v;
	cJSON_ArrayForEach(v, obj_get(pod, "spec.volumes"))
	{
		const char *n = obj_get_str(v, "name");
		if (n && !strcmp(n, name))
			return v;
	}
	return NULL;
}

static bool always_read_only(const cJSON *vol)
{
	return obj_get(vol, "configMap") || obj_get(vol, "secret") || obj_get(vol, "downwardAPI") ||
	       obj_get(vol, "projected");
}

static Runtime__V1__Mount *add_mount(struct kl_arena *a, Runtime__V1__ContainerConfig *cfg)
{
	Runtime__V1__Mount **n = kl_alloc(a, (cfg->n_mounts + 1) * sizeof(*n));
	if (cfg->n_mounts)
		memcpy(n, cfg->mounts, cfg->n_mounts * sizeof(*n));
	cfg->mounts = n;
	Runtime__V1__Mount *m = kl_alloc(a, sizeof(*m));
	runtime__v1__mount__init(m);
	n[cfg->n_mounts++] = m;
	return m;
}

static bool mounts_path(const cJSON *c, const char *path)
{
	const cJSON *vm;
	cJSON_ArrayForEach(vm, obj_get(c, "volumeMounts"))
	{
		const char *mp = obj_get_str(vm, "mountPath");
		if (mp && !strcmp(mp, path))
			return true;
	}
	return false;
}

/* subPath: relative, no "..": upstream refuses anything that could step out of the volume. */
static bool bad_subpath(const char *s)
{
	if (s[0] == '/')
		return true;
	for (const char *p = s; (p = strstr(p, "..")); p += 2) {
		bool start = p == s || p[-1] == '/', end = !p[2] || p[2] == '/';
		if (start && end)
			return true;
	}
	return false;
}

static int volume_mounts(struct kl_pod *p, const cJSON *c, const struct kl_envs *env,
                         struct kl_arena *a, Runtime__V1__ContainerConfig *cfg, struct err *e)
{
	const cJSON *vm;
	cJSON_ArrayForEach(vm, obj_get(c, "volumeMounts"))
	{
		const char *name = obj_get_str(vm, "name"), *path = obj_get_str(vm, "mountPath");
		if (!name || !path)
			continue;
		const cJSON *vol = volume_spec(p->obj, name);
		if (!vol)
			return err_set(e, -ENOENT,
			               "cannot find volume \"%s\" to mount into container \"%s\"",
			               name, obj_get_str(c, "name"));
		char *host = kl_volume_host_path(p, name, e);
		if (!host)
			return -ENOENT;
		const char *sub = obj_get_str(vm, "subPath");
		char *subx = NULL;
		const char *subexpr = obj_get_str(vm, "subPathExpr");
		if (subexpr && *subexpr)
			sub = subx = kl_expand(subexpr, env);
		if (sub && *sub) {
			if (bad_subpath(sub)) {
				free(host);
				free(subx);
				return err_set(e, -EINVAL,
				               "failed to prepare subPath for volumeMount \"%s\" "
				               "of container \"%s\": invalid subpath \"%s\"",
				               name, obj_get_str(c, "name"), sub);
			}
			char *full = xasprintf("%s/%s", host, sub);
			free(host);
			host = full;
			/* A subPath of a writable volume that does not exist yet is made, as
			 * upstream does; in a read-only one it must be there. */
			struct stat stt;
			if (stat(host, &stt) < 0)
				mkdir_p(host, 0777);
		}
		free(subx);
		Runtime__V1__Mount *m = add_mount(a, cfg);
		m->container_path = kl_strdup(a, path);
		m->host_path = kl_strdup(a, host);
		free(host);
		m->readonly = bool_at(vm, "readOnly") || always_read_only(vol);
		const char *prop = obj_get_str(vm, "mountPropagation");
		m->propagation = prop && !strcmp(prop, "HostToContainer")
		                     ? RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER
		                 : prop && !strcmp(prop, "Bidirectional")
		                     ? RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_BIDIRECTIONAL
		                     : RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_PRIVATE;
	}
	return 0;
}

/* The pod's /etc/hosts, as upstream's kubelet writes it (host network: the node's). */
static char *hosts_file(struct kl_pod *p, const char *pod_ip, const char *pod_ip2, struct err *e)
{
	struct kubelet *k = p->k;
	char *path = xasprintf("%s/pods/%s/etc-hosts", k->data_dir, p->uid);
	struct buf b = { 0 };
	if (bool_at(p->obj, "spec.hostNetwork")) {
		char *text = NULL;
		size_t len = 0;
		if (read_file("/etc/hosts", &text, &len, 1 << 20) == 0) {
			buf_add(&b, text, len);
			free(text);
		}
	} else {
		char h[64];
		kl_pod_hostname(p->obj, h);
		buf_adds(&b, "# Kubernetes-managed hosts file.\n"
		             "127.0.0.1\tlocalhost\n"
		             "::1\tlocalhost ip6-localhost ip6-loopback\n"
		             "fe00::0\tip6-localnet\n"
		             "fe00::0\tip6-mcastprefix\n"
		             "fe00::1\tip6-allnodes\n"
		             "fe00::2\tip6-allrouters\n");
		/* a line per pod IP, both families on a dual-stack pod */
		const char *sub = obj_get_str(p->obj, "spec.subdomain");
		for (const char *ip = pod_ip; ip && *ip; ip = ip == pod_ip ? pod_ip2 : NULL) {
			if (sub && *sub)
				buf_printf(&b, "%s\t%s.%s.%s.svc.%s\t%s\n", ip, h, sub, p->ns,
				           k->cluster_domain, h);
			else
				buf_printf(&b, "%s\t%s\n", ip, h);
		}
		const cJSON *ha, *hn;
		bool first = true;
		cJSON_ArrayForEach(ha, obj_get(p->obj, "spec.hostAliases"))
		{
			const char *ip = obj_get_str(ha, "ip");
			if (!ip)
				continue;
			if (first)
				buf_adds(&b, "\n# Entries added by HostAliases.\n");
			first = false;
			buf_adds(&b, ip);
			cJSON_ArrayForEach(hn, obj_get(ha, "hostnames"))
			{
				if (cJSON_IsString(hn))
					buf_printf(&b, "\t%s", hn->valuestring);
			}
			buf_addc(&b, '\n');
		}
	}
	int r = write_file_atomic(path, b.data ? b.data : "", b.len, 0644);
	buf_free(&b);
	if (r < 0) {
		err_set(e, r, "write %s: %s", path, strerror(-r));
		free(path);
		return NULL;
	}
	return path;
}

static char **cap_list(struct kl_arena *a, const cJSON *arr, size_t *n)
{
	size_t cnt = (size_t)cJSON_GetArraySize(arr);
	char **out = kl_alloc(a, (cnt + 1) * sizeof(char *));
	const cJSON *it;
	*n = 0;
	cJSON_ArrayForEach(it, arr)
	{
		if (cJSON_IsString(it))
			out[(*n)++] = kl_strdup(a, it->valuestring);
	}
	return out;
}

int kl_container_config(struct kl_pod *p, const cJSON *c, bool init, uint32_t attempt, int restarts,
                        const struct kl_image *img, const char *pod_ip, struct kl_arena *a,
                        Runtime__V1__ContainerConfig **out, struct err *e)
{
	struct kubelet *k = p->k;
	const char *name = obj_get_str(c, "name");
	Runtime__V1__ContainerConfig *cfg = kl_alloc(a, sizeof(*cfg));
	runtime__v1__container_config__init(cfg);
	Runtime__V1__ContainerMetadata *md = kl_alloc(a, sizeof(*md));
	runtime__v1__container_metadata__init(md);
	md->name = kl_strdup(a, name);
	md->attempt = attempt;
	cfg->metadata = md;
	Runtime__V1__ImageSpec *is = kl_alloc(a, sizeof(*is));
	runtime__v1__image_spec__init(is);
	is->image = kl_strdup(a, img->id && *img->id ? img->id : obj_get_str(c, "image"));
	cfg->image = is;

	/* environment: needs the sandbox's IP for status.podIP */
	cJSON *svcs = kl_services(k, p->ns);
	cJSON *master = kl_services(k, "default");
	cJSON *kube = cJSON_CreateArray();
	const cJSON *s;
	cJSON_ArrayForEach(s, master)
	{
		const char *sn = obj_get_str(s, "metadata.name");
		if (sn && !strcmp(sn, "kubernetes"))
			cJSON_AddItemReferenceToArray(kube, (cJSON *)s);
	}
	struct kl_sandbox *sb =
	    bool_at(p->obj, "spec.hostNetwork") ? NULL : kl_newest_sandbox(k, p->uid);
	const char *pod_ip2 = sb && pod_ip && sb->ip && !strcmp(sb->ip, pod_ip) ? sb->ip2 : NULL;
	struct kl_env_ctx ectx = { .pod = p->obj,
		                   .pod_ip = pod_ip,
		                   .pod_ip2 = pod_ip2,
		                   .host_ip = k->node_ip,
		                   .configmap = kl_configmap,
		                   .secret = kl_secret,
		                   .lookup_arg = k,
		                   .services = svcs,
		                   .master_services = kube,
		                   .node_cpu_milli = k->node_cpu_milli,
		                   .node_mem_bytes = k->node_mem_bytes };
	struct kl_envs env = { 0 };
	int r = kl_container_env(&ectx, c, &env, e);
	cJSON_Delete(svcs);
	cJSON_Delete(master);
	cJSON_Delete(kube);
	if (r < 0)
		return r;
	cfg->envs = kl_alloc(a, (env.n + 1) * sizeof(*cfg->envs));
	for (size_t i = 0; i < env.n; i++) {
		Runtime__V1__KeyValue *kv = kl_alloc(a, sizeof(*kv));
		runtime__v1__key_value__init(kv);
		kv->key = kl_strdup(a, env.v[i].name);
		kv->value = kl_strdup(a, env.v[i].value);
		cfg->envs[cfg->n_envs++] = kv;
	}

	/* command and args, expanded; the runtime applies the image's ENTRYPOINT and CMD */
	const cJSON *arr[2] = { obj_get(c, "command"), obj_get(c, "args") };
	for (int w = 0; w < 2; w++) {
		size_t n = (size_t)cJSON_GetArraySize(arr[w]), m = 0;
		char **v = kl_alloc(a, (n + 1) * sizeof(char *));
		const cJSON *it;
		cJSON_ArrayForEach(it, arr[w])
		{
			if (!cJSON_IsString(it))
				continue;
			char *x = kl_expand(it->valuestring, &env);
			v[m++] = kl_strdup(a, x);
			free(x);
		}
		if (w == 0) {
			cfg->command = v;
			cfg->n_command = m;
		} else {
			cfg->args = v;
			cfg->n_args = m;
		}
	}
	const char *wd = obj_get_str(c, "workingDir");
	cfg->working_dir = kl_strdup(a, wd ? wd : "");

	r = volume_mounts(p, c, &env, a, cfg, e);
	kl_envs_free(&env);
	if (r < 0)
		return r;
	if (!mounts_path(c, "/etc/hosts")) {
		char *hosts = hosts_file(p, pod_ip, pod_ip2, e);
		if (!hosts)
			return -EIO;
		Runtime__V1__Mount *m = add_mount(a, cfg);
		m->container_path = kl_strdup(a, "/etc/hosts");
		m->host_path = kl_strdup(a, hosts);
		free(hosts);
	}
	const char *tpath = obj_get_str(c, "terminationMessagePath");
	if (tpath && *tpath && !mounts_path(c, tpath)) {
		char *dir = xasprintf("%s/pods/%s/containers/%s", k->data_dir, p->uid, name);
		char *file = xasprintf("%s/%u", dir, attempt);
		mkdir_p(dir, 0750);
		if (write_file_atomic(file, "", 0, 0666) == 0) {
			chmod(file, 0666);
			Runtime__V1__Mount *m = add_mount(a, cfg);
			m->container_path = kl_strdup(a, tpath);
			m->host_path = kl_strdup(a, file);
		}
		free(dir);
		free(file);
	}

	kv_add(a, &runtime__v1__container_config__labels_entry__descriptor, (void ***)&cfg->labels,
	       &cfg->n_labels, KL_LABEL_POD_NAME, p->name);
	KV_ADD(a, cfg, labels, runtime__v1__container_config__labels_entry__descriptor,
	       KL_LABEL_POD_NS, p->ns);
	KV_ADD(a, cfg, labels, runtime__v1__container_config__labels_entry__descriptor,
	       KL_LABEL_POD_UID, p->uid);
	KV_ADD(a, cfg, labels, runtime__v1__container_config__labels_entry__descriptor,
	       KL_LABEL_CONTAINER, name);
	char *hash = kl_container_hash(c);
	const ProtobufCMessageDescriptor *ad =
	    &runtime__v1__container_config__annotations_entry__descriptor;
	KV_ADD(a, cfg, annotations, *ad, KL_ANN_HASH, hash);
	free(hash);
	KV_ADD(a, cfg, annotations, *ad, KL_ANN_RESTARTS, kl_printf(a, "%d", restarts));
	KV_ADD(a, cfg, annotations, *ad, KL_ANN_TERM_PATH, tpath ? tpath : "");
	const char *tpol = obj_get_str(c, "terminationMessagePolicy");
	KV_ADD(a, cfg, annotations, *ad, KL_ANN_TERM_POLICY, tpol ? tpol : "File");
	int64_t grace = 30;
	obj_get_i64(p->obj, "spec.terminationGracePeriodSeconds", &grace);
	KV_ADD(a, cfg, annotations, *ad, KL_ANN_GRACE, kl_printf(a, "%lld", (long long)grace));
	KV_ADD(a, cfg, annotations, *ad, KL_ANN_INIT, init ? "true" : "false");

	cfg->log_path = kl_printf(a, "%s/%u.log", name, attempt);
	cfg->stdin = bool_at(c, "stdin");
	cfg->stdin_once = bool_at(c, "stdinOnce");
	cfg->tty = bool_at(c, "tty");

	Runtime__V1__LinuxContainerConfig *lx = kl_alloc(a, sizeof(*lx));
	runtime__v1__linux_container_config__init(lx);
	Runtime__V1__LinuxContainerResources *res = kl_alloc(a, sizeof(*res));
	runtime__v1__linux_container_resources__init(res);
	struct kl_resources rr;
	kl_container_resources(p->obj, c, k->node_mem_bytes, &rr);
	res->cpu_shares = rr.cpu_shares;
	res->cpu_quota = rr.cpu_quota;
	res->cpu_period = rr.cpu_period;
	res->memory_limit_in_bytes = rr.memory_limit;
	res->oom_score_adj = rr.oom_score_adj;
	lx->resources = res;

	Runtime__V1__LinuxContainerSecurityContext *sc = kl_alloc(a, sizeof(*sc));
	runtime__v1__linux_container_security_context__init(sc);
	const cJSON *psc = obj_get(p->obj, "spec.securityContext");
	const cJSON *csc = obj_get(c, "securityContext");
	sc->namespace_options = ns_options(a, p->obj);
	int64_t uid = -1, gid = -1, v;
	if (obj_get_i64(csc, "runAsUser", &v) || obj_get_i64(psc, "runAsUser", &v))
		uid = v;
	if (obj_get_i64(csc, "runAsGroup", &v) || obj_get_i64(psc, "runAsGroup", &v))
		gid = v;
	bool nonroot = false;
	if (!obj_get_bool(csc, "runAsNonRoot", &nonroot))
		obj_get_bool(psc, "runAsNonRoot", &nonroot);
	if (nonroot) {
		/* as upstream's verifyRunAsNonRoot: the uid that will run must not be 0 */
		int64_t eff = uid >= 0 ? uid : img->uid;
		if (eff == 0)
			return err_set(
			    e, -EPERM,
			    "container has runAsNonRoot and image will run as root (pod: "
			    "\"%s_%s(%s)\", container: %s)",
			    p->name, p->ns, p->uid, name);
		if (eff < 0 && img->username && *img->username &&
		    strspn(img->username, "0123456789") != strlen(img->username))
			return err_set(
			    e, -EPERM,
			    "container has runAsNonRoot and image has non-numeric user (%s), "
			    "cannot verify user is non-root (pod: \"%s_%s(%s)\", container: "
			    "%s)",
			    img->username, p->name, p->ns, p->uid, name);
		if (eff < 0 && !(img->username && *img->username))
			return err_set(
			    e, -EPERM,
			    "container has runAsNonRoot and image will run as root (pod: "
			    "\"%s_%s(%s)\", container: %s)",
			    p->name, p->ns, p->uid, name);
	}
	if (uid >= 0)
		sc->run_as_user = i64v(a, uid);
	else if (img->username && *img->username)
		sc->run_as_username = kl_strdup(a, img->username);
	if (gid >= 0)
		sc->run_as_group = i64v(a, gid);
	sc->supplemental_groups = supplemental_groups(a, psc, &sc->n_supplemental_groups);
	sc->privileged = bool_at(csc, "privileged");
	sc->readonly_rootfs = bool_at(csc, "readOnlyRootFilesystem");
	bool ape = true;
	if (obj_get_bool(csc, "allowPrivilegeEscalation", &ape))
		sc->no_new_privs = !ape;
	const cJSON *caps = obj_get(csc, "capabilities");
	if (cJSON_IsObject(caps)) {
		Runtime__V1__Capability *cp = kl_alloc(a, sizeof(*cp));
		runtime__v1__capability__init(cp);
		cp->add_capabilities = cap_list(a, obj_get(caps, "add"), &cp->n_add_capabilities);
		cp->drop_capabilities =
		    cap_list(a, obj_get(caps, "drop"), &cp->n_drop_capabilities);
		sc->capabilities = cp;
	}
	sc->seccomp = seccomp(a, csc);
	if (!sc->seccomp)
		sc->seccomp = seccomp(a, psc);
	lx->security_context = sc;
	cfg->linux = lx;
	*out = cfg;
	return 0;
}
