/* podspec: defaults and validation of a PodSpec, shared by pods and every pod template. */
#include <stdio.h>
#include <string.h>

#include "core/registry/registry-internal.h"

/* --- defaults ------------------------------------------------------------------------------- */

/*
 * Image references, checked the way upstream's image-name parser (the distribution reference
 * grammar) checks them, because imagePullPolicy depends on whether the parse succeeds:
 *   [host[:port]/]component[/component...][:tag][@algorithm:hex]
 */
static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_word(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '_';
}

/* A path component: lower-case alphanumeric runs joined by ".", "_", "__" or dashes. */
static bool path_component_ok(const char *s, size_t n)
{
	size_t i = 0;
	for (;;) {
		size_t run = i;
		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == run)
			return false;
		if (i == n)
			return true;
		if (s[i] == '.')
			i++;
		else if (s[i] == '_')
			i += i + 1 < n && s[i + 1] == '_' ? 2 : 1;
		else if (s[i] == '-')
			while (i < n && s[i] == '-')
				i++;
		else
			return false;
	}
}

/* A registry host (DNS name or IPv4, or [IPv6]) with an optional numeric port. */
static bool domain_ok(const char *s, size_t n)
{
	size_t i = 0;
	if (n && s[0] == '[') {
		while (i < n && s[i] != ']')
			i++;
		if (i == n || i < 3)
			return false;
		for (size_t k = 1; k < i; k++)
			if (!strchr("0123456789abcdefABCDEF:.", s[k]))
				return false;
		i++;
	} else {
		for (;;) {
			size_t part = i;
			while (i < n && (is_lower_alnum(s[i]) || (s[i] >= 'A' && s[i] <= 'Z') ||
			                 s[i] == '-'))
				i++;
			if (i == part || s[part] == '-' || s[i - 1] == '-')
				return false;
			if (i < n && s[i] == '.') {
				i++;
				continue;
			}
			break;
		}
	}
	if (i == n)
		return true;
	if (s[i] != ':' || i + 1 == n)
		return false;
	for (i++; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* algorithm:hex for the algorithms upstream supports, with their exact lengths. */
static bool digest_ok(const char *s)
{
	static const struct {
		const char *alg;
		size_t hex;
	} algs[] = { { "sha256:", 64 }, { "sha384:", 96 }, { "sha512:", 128 } };
	for (size_t a = 0; a < ARRAY_SIZE(algs); a++) {
		size_t al = strlen(algs[a].alg);
		if (strncmp(s, algs[a].alg, al) != 0)
			continue;
		const char *h = s + al;
		if (strlen(h) != algs[a].hex)
			return false;
		for (; *h; h++)
			if (!((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f')))
				return false;
		return true;
	}
	return false;
}

/* Parses an image reference; false when upstream's parser would refuse it. */
static bool image_ref_parse(const char *image, const char **tag, size_t *taglen, bool *digest)
{
	size_t len = strlen(image);
	const char *at = strchr(image, '@');
	size_t n = at ? (size_t)(at - image) : len;
	*tag = NULL;
	*taglen = 0;
	*digest = at != NULL;
	if (n == 0 || (at && !digest_ok(at + 1)))
		return false;
	/* A tag is a ':' after the last '/'; one before it belongs to a registry host:port. */
	size_t name_end = n;
	for (size_t i = 0; i < n; i++) {
		if (image[i] == '/')
			name_end = n;
		else if (image[i] == ':')
			name_end = i;
	}
	if (name_end < n) {
		*tag = image + name_end + 1;
		*taglen = n - name_end - 1;
		if (*taglen == 0 || *taglen > 128)
			return false;
		for (size_t i = 0; i < *taglen; i++)
			if (!is_word((*tag)[i]) &&
			    (i == 0 || ((*tag)[i] != '.' && (*tag)[i] != '-')))
				return false;
	}
	if (name_end > 255)
		return false;
	/* The first component is a registry when it looks like a host. */
	const char *p = image, *end = image + name_end;
	const char *slash = memchr(image, '/', name_end);
	if (slash) {
		size_t hn = (size_t)(slash - image);
		bool upper = false;
		for (size_t i = 0; i < hn; i++)
			upper |= image[i] >= 'A' && image[i] <= 'Z';
		if (memchr(image, '.', hn) || memchr(image, ':', hn) || upper ||
		    (hn == 9 && !strncmp(image, "localhost", 9))) {
			if (!domain_ok(image, hn))
				return false;
			p = slash + 1;
		}
	}
	for (;;) {
		const char *e = memchr(p, '/', (size_t)(end - p));
		if (!path_component_ok(p, (size_t)((e ? e : end) - p)))
			return false;
		if (!e)
			break;
		p = e + 1;
	}
	/* A bare 64-character hex string would be mistaken for an image ID. */
	if (!slash && name_end == 64 && !*tag && !at) {
		size_t i = 0;
		while (i < 64 && ((image[i] >= '0' && image[i] <= '9') ||
		                  (image[i] >= 'a' && image[i] <= 'f')))
			i++;
		if (i == 64)
			return false;
	}
	return true;
}

/*
 * imagePullPolicy follows the tag as upstream's image-name parser sees it: no tag means
 * "latest" (pull Always) unless the image is pinned by digest; a name the parser rejects gets
 * IfNotPresent, since upstream ignores the parse error there.
 */
static const char *pull_policy_for(const char *image)
{
	const char *tag;
	size_t taglen;
	bool digest;
	if (!image_ref_parse(image, &tag, &taglen, &digest))
		return "IfNotPresent";
	if (tag)
		return taglen == 6 && !strncmp(tag, "latest", 6) ? "Always" : "IfNotPresent";
	return digest ? "IfNotPresent" : "Always";
}

static void http_get_defaults(cJSON *handler)
{
	cJSON *hg = reg_obj(handler, "httpGet", false);
	if (hg) {
		reg_def_str(hg, "path", "/");
		reg_def_str(hg, "scheme", "HTTP");
	}
}

static void probe_defaults(cJSON *c, const char *key)
{
	cJSON *p = reg_obj(c, key, false);
	if (!p)
		return;
	reg_def_int0(p, "timeoutSeconds", 1);
	reg_def_int0(p, "periodSeconds", 10);
	reg_def_int0(p, "successThreshold", 1);
	reg_def_int0(p, "failureThreshold", 3);
	http_get_defaults(p);
}

void reg_resource_list_defaults(cJSON *list)
{
	cJSON *it, *next;
	/* Replacing a member frees it, so the walk keeps its successor first. */
	for (it = cJSON_IsObject(list) ? list->child : NULL; it; it = next) {
		struct qty q;
		char text[QTY_STR_MAX];
		next = it->next;
		if (!reg_qty(it, &q))
			continue;
		reg_qty_round_milli(&q);
		qty_format(&q, text);
		if (!cJSON_IsString(it) || strcmp(it->valuestring, text) != 0)
			cJSON_ReplaceItemInObjectCaseSensitive(list, it->string,
			                                       cJSON_CreateString(text));
	}
}

static void container_defaults(cJSON *c, bool is_pod, bool host_network)
{
	if (!cJSON_IsObject(c))
		return;
	const char *image = reg_at_str(c, "image");
	reg_def_str(c, "imagePullPolicy", pull_policy_for(image ? image : ""));
	reg_def_str(c, "terminationMessagePath", "/dev/termination-log");
	reg_def_str(c, "terminationMessagePolicy", "File");
	cJSON *res = reg_obj(c, "resources", true);
	cJSON *limits = reg_obj(res, "limits", false);
	reg_resource_list_defaults(limits);
	reg_resource_list_defaults(reg_obj(res, "requests", false));
	/* A container with only limits asks for what it may use: requests default to limits.
	 * Only for Pods: templates keep what the user wrote, as upstream does. */
	if (is_pod && reg_count(limits) > 0) {
		cJSON *req = reg_obj(res, "requests", true), *l;
		cJSON_ArrayForEach(l, (req ? limits : NULL))
		{
			/* Only quantities: a malformed limit is reported once, at the limit. */
			struct qty q;
			if (!reg_get(req, l->string) && reg_qty(l, &q))
				reg_set(req, l->string, cJSON_Duplicate(l, true));
		}
	}
	cJSON *p;
	cJSON_ArrayForEach(p, (cJSON_IsArray(reg_get(c, "ports")) ? reg_get(c, "ports") : NULL))
	{
		reg_def_str(p, "protocol", "TCP");
		if (is_pod && host_network) {
			int64_t cp;
			if (reg_json_int(reg_get(p, "containerPort"), &cp))
				reg_def_int0(p, "hostPort", cp);
		}
	}
	probe_defaults(c, "livenessProbe");
	probe_defaults(c, "readinessProbe");
	probe_defaults(c, "startupProbe");
	cJSON *lc = reg_obj(c, "lifecycle", false);
	http_get_defaults(reg_obj(lc, "postStart", false));
	http_get_defaults(reg_obj(lc, "preStop", false));
	cJSON *e;
	cJSON_ArrayForEach(e, (cJSON_IsArray(reg_get(c, "env")) ? reg_get(c, "env") : NULL))
	{
		cJSON *fr = reg_obj(reg_obj(e, "valueFrom", false), "fieldRef", false);
		reg_def_str(fr, "apiVersion", "v1");
	}
}

static void volume_defaults(cJSON *vol)
{
	static const char *const sources[] = { "hostPath",
		                               "emptyDir",
		                               "gcePersistentDisk",
		                               "awsElasticBlockStore",
		                               "gitRepo",
		                               "secret",
		                               "nfs",
		                               "iscsi",
		                               "glusterfs",
		                               "persistentVolumeClaim",
		                               "rbd",
		                               "flexVolume",
		                               "cinder",
		                               "cephfs",
		                               "flocker",
		                               "downwardAPI",
		                               "fc",
		                               "azureFile",
		                               "configMap",
		                               "vsphereVolume",
		                               "quobyte",
		                               "azureDisk",
		                               "photonPersistentDisk",
		                               "projected",
		                               "portworxVolume",
		                               "scaleIO",
		                               "storageos",
		                               "csi",
		                               "ephemeral",
		                               "image",
		                               NULL };
	if (!cJSON_IsObject(vol))
		return;
	bool any = false;
	for (int i = 0; sources[i]; i++)
		any |= reg_get(vol, sources[i]) != NULL;
	if (!any)
		reg_set(vol, "emptyDir", cJSON_CreateObject());
	reg_def_int(reg_obj(vol, "secret", false), "defaultMode", 0644);
	reg_def_int(reg_obj(vol, "configMap", false), "defaultMode", 0644);
	cJSON *hp = reg_obj(vol, "hostPath", false);
	reg_def_str(hp, "type", "");
	cJSON *dapi = reg_obj(vol, "downwardAPI", false), *it;
	reg_def_int(dapi, "defaultMode", 0644);
	cJSON_ArrayForEach(it,
	                   (cJSON_IsArray(reg_get(dapi, "items")) ? reg_get(dapi, "items") : NULL))
	{
		reg_def_str(reg_obj(it, "fieldRef", false), "apiVersion", "v1");
	}
	cJSON *proj = reg_obj(vol, "projected", false);
	reg_def_int(proj, "defaultMode", 0644);
	cJSON_ArrayForEach(
	    it, (cJSON_IsArray(reg_get(proj, "sources")) ? reg_get(proj, "sources") : NULL))
	{
		reg_def_int(reg_obj(it, "serviceAccountToken", false), "expirationSeconds", 3600);
		cJSON *d = reg_obj(it, "downwardAPI", false), *item;
		cJSON_ArrayForEach(
		    item, (cJSON_IsArray(reg_get(d, "items")) ? reg_get(d, "items") : NULL))
		{
			reg_def_str(reg_obj(item, "fieldRef", false), "apiVersion", "v1");
		}
	}
}

void reg_podspec_defaults(cJSON *spec, bool is_pod)
{
	if (!cJSON_IsObject(spec))
		return;
	reg_def_str(spec, "dnsPolicy", "ClusterFirst");
	reg_def_str(spec, "restartPolicy", "Always");
	reg_def_obj(spec, "securityContext");
	reg_def_int(spec, "terminationGracePeriodSeconds", 30);
	reg_def_str(spec, "schedulerName", "default-scheduler");
	/* v1 still carries the deprecated serviceAccount; conversion keeps the two equal. */
	const char *san = reg_at_str(spec, "serviceAccountName");
	const char *sa = reg_at_str(spec, "serviceAccount");
	if (san && *san)
		reg_def_str(spec, "serviceAccount", san);
	else if (sa && *sa)
		reg_def_str(spec, "serviceAccountName", sa);
	if (is_pod)
		reg_def_bool(spec, "enableServiceLinks", true);
	bool host_network = reg_at_bool(spec, "hostNetwork", false);
	static const char *const lists[] = { "containers", "initContainers",
		                             "ephemeralContainers" };
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		const cJSON *arr = reg_get(spec, lists[l]);
		cJSON *c;
		cJSON_ArrayForEach(c, (cJSON_IsArray(arr) ? (cJSON *)arr : NULL))
		{
			container_defaults(c, is_pod && l < 2, host_network);
		}
	}
	const cJSON *vols = reg_get(spec, "volumes");
	cJSON *vol;
	cJSON_ArrayForEach(vol, (cJSON_IsArray(vols) ? (cJSON *)vols : NULL))
	{
		volume_defaults(vol);
	}
	reg_resource_list_defaults(reg_obj(spec, "overhead", false));
}

void reg_template_defaults(cJSON *tmpl)
{
	if (!cJSON_IsObject(tmpl))
		return;
	/* Go prints the template's zero creationTimestamp as null; kubectl users see it there. */
	cJSON *meta = reg_obj(tmpl, "metadata", true);
	if (meta && !cJSON_GetObjectItemCaseSensitive(meta, "creationTimestamp"))
		cJSON_AddNullToObject(meta, "creationTimestamp");
	reg_podspec_defaults(reg_obj(tmpl, "spec", true), false);
}

/* --- validation ----------------------------------------------------------------------------- */

static const char *const restart_policies[] = { "Always", "OnFailure", "Never", NULL };
static const char *const dns_policies[] = { "ClusterFirst", "ClusterFirstWithHostNet", "Default",
	                                    "None", NULL };
static const char *const pull_policies[] = { "Always", "IfNotPresent", "Never", NULL };
static const char *const protocols[] = { "SCTP", "TCP", "UDP", NULL };
static const char *const message_policies[] = { "File", "FallbackToLogsOnError", NULL };

/* IntOrString ports: a number in range, or an IANA service name. */
static void port_num_or_name(struct reg_vctx *v, const cJSON *o, const char *key, bool required)
{
	const cJSON *p = reg_get(o, key);
	if (!p) {
		if (required)
			reg_vreq(v, key, NULL);
		return;
	}
	int64_t n;
	if (cJSON_IsString(p)) {
		if (!*p->valuestring)
			reg_vreq(v, key, NULL);
		else
			reg_check_port_name(v, key, p->valuestring);
	} else if (reg_json_int(p, &n)) {
		if (n < 1 || n > 65535)
			reg_vinvalid_int(v, key, n, "must be between 1 and 65535, inclusive");
	} else {
		reg_vinvalid(v, key, p, "must be an integer or a port name");
	}
}

static void validate_handler(struct reg_vctx *v, const cJSON *h, bool probe)
{
	static const char *const kinds[] = { "exec", "httpGet", "tcpSocket", "grpc", "sleep" };
	int n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		if (!probe && !strcmp(kinds[i], "grpc"))
			continue;
		if (probe && !strcmp(kinds[i], "sleep"))
			continue;
		if (!reg_get(h, kinds[i]))
			continue;
		if (n++) {
			reg_vforbidden(v, kinds[i], "may not specify more than 1 handler type");
			continue;
		}
		if (!reg_vobj(v, h, kinds[i]))
			continue;
	}
	if (n == 0) {
		reg_vreq(v, NULL, "must specify a handler type");
		return;
	}
	const cJSON *hg = reg_at_obj(h, "httpGet");
	if (hg) {
		size_t m = reg_vkey(v, "httpGet");
		port_num_or_name(v, hg, "port", true);
		static const char *const schemes[] = { "HTTP", "HTTPS", NULL };
		reg_venum(v, hg, "scheme", false, schemes);
		reg_vstr(v, hg, "path");
		reg_vpop(v, m);
	}
	const cJSON *tcp = reg_at_obj(h, "tcpSocket");
	if (tcp) {
		size_t m = reg_vkey(v, "tcpSocket");
		port_num_or_name(v, tcp, "port", true);
		reg_vpop(v, m);
	}
	const cJSON *ex = reg_at_obj(h, "exec");
	if (ex) {
		size_t m = reg_vkey(v, "exec");
		const cJSON *cmd = reg_vstrlist(v, ex, "command");
		if (!reg_get(ex, "command") || (cmd && reg_count(cmd) == 0))
			reg_vreq(v, "command", NULL);
		reg_vpop(v, m);
	}
	const cJSON *grpc = reg_at_obj(h, "grpc");
	if (grpc) {
		size_t m = reg_vkey(v, "grpc");
		reg_vport(v, grpc, "port", true);
		reg_vpop(v, m);
	}
}

static void validate_probe(struct reg_vctx *v, const cJSON *c, const char *key, bool one_success)
{
	const cJSON *p = reg_vobj(v, c, key);
	if (!p)
		return;
	size_t m = reg_vkey(v, key);
	validate_handler(v, p, true);
	reg_vnonneg(v, p, "initialDelaySeconds", NULL);
	reg_vnonneg(v, p, "timeoutSeconds", NULL);
	reg_vnonneg(v, p, "periodSeconds", NULL);
	reg_vnonneg(v, p, "failureThreshold", NULL);
	int64_t s;
	if (reg_vnonneg(v, p, "successThreshold", &s) && one_success && s != 1)
		reg_vinvalid_int(v, "successThreshold", s, "must be 1");
	int64_t tg;
	if (reg_vint(v, p, "terminationGracePeriodSeconds", &tg) && tg <= 0)
		reg_vinvalid_int(v, "terminationGracePeriodSeconds", tg, "must be greater than 0");
	reg_vpop(v, m);
}

static bool standard_container_resource(const char *name)
{
	return !strcmp(name, "cpu") || !strcmp(name, "memory") ||
	       !strcmp(name, "ephemeral-storage") || str_has_prefix(name, "hugepages-");
}

/* Native resources may be requested below their limit; extended ones (example.com/gpu) and
 * huge pages may not. */
static bool overcommit_allowed(const char *name)
{
	bool native = !strchr(name, '/') || strstr(name, "kubernetes.io/");
	return native && !str_has_prefix(name, "hugepages-");
}

/* A resource list: names and non-negative quantities. */
void reg_vresource_list(struct reg_vctx *v, const cJSON *o, const char *key)
{
	const cJSON *list = reg_vobj(v, o, key), *it;
	if (!list)
		return;
	size_t m = reg_vkey(v, key);
	cJSON_ArrayForEach(it, list)
	{
		size_t m2 = reg_vmap(v, it->string);
		struct qty q;
		reg_vqualified(v, NULL, it->string);
		if (cJSON_IsNull(it)) {
			/* nothing */
		} else if (!reg_qty(it, &q)) {
			reg_vinvalid(v, NULL, it,
			             "must be a quantity, e.g. '500m', '2', '128Mi' or '1G'");
		} else if (q.neg) {
			char t[QTY_STR_MAX];
			qty_format(&q, t);
			reg_vinvalid_str(v, NULL, t, "must be greater than or equal to 0");
		}
		reg_vpop(v, m2);
	}
	reg_vpop(v, m);
}

static void validate_resources(struct reg_vctx *v, const cJSON *c)
{
	const cJSON *res = reg_vobj(v, c, "resources");
	if (!res)
		return;
	size_t m = reg_vkey(v, "resources");
	reg_vresource_list(v, res, "limits");
	reg_vresource_list(v, res, "requests");
	const char *lists[] = { "limits", "requests" };
	for (int l = 0; l < 2; l++) {
		const cJSON *it;
		cJSON_ArrayForEach(it, reg_at_obj(res, lists[l]))
		{
			if (strchr(it->string, '/') || standard_container_resource(it->string))
				continue;
			size_t m2 = reg_vkey(v, lists[l]);
			reg_vmap(v, it->string);
			reg_vinvalid_str(v, NULL, it->string,
			                 "must be a standard resource for containers");
			reg_vpop(v, m2);
		}
	}
	const cJSON *req;
	cJSON_ArrayForEach(req, reg_at_obj(res, "requests"))
	{
		const cJSON *lim = reg_get(reg_at_obj(res, "limits"), req->string);
		bool overcommit = overcommit_allowed(req->string);
		struct qty qr, ql;
		if (!reg_qty(req, &qr))
			continue;
		/* Upstream names the list, not the key, for a request that disagrees. */
		if (!lim) {
			if (!overcommit)
				reg_vreq(v, "limits",
				         "a limit must be set for resources that "
				         "cannot be overcommitted");
			continue;
		}
		if (!reg_qty(lim, &ql))
			continue;
		int cmp = qty_cmp(&qr, &ql);
		if ((!overcommit && cmp != 0) || cmp > 0) {
			char tr[QTY_STR_MAX], tl[QTY_STR_MAX];
			qty_format(&qr, tr);
			qty_format(&ql, tl);
			size_t m2 = reg_vkey(v, "requests");
			reg_vinvalid_str(v, NULL, tr, "must be %s %s limit of %s",
			                 overcommit ? "less than or equal to" : "equal to",
			                 req->string, tl);
			reg_vpop(v, m2);
		}
	}
	reg_vpop(v, m);
}

static bool env_name_ok(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return false;
	return true;
}

static void validate_env(struct reg_vctx *v, const cJSON *c)
{
	const cJSON *env = reg_varr(v, c, "env"), *e;
	int i = 0;
	cJSON_ArrayForEach(e, env)
	{
		size_t m = reg_vkey(v, "env");
		reg_vidx(v, i++);
		if (!cJSON_IsObject(e)) {
			reg_vinvalid(v, NULL, e, "must be an object");
			reg_vpop(v, m);
			continue;
		}
		const char *name = reg_vstr_req(v, e, "name");
		if (name && !env_name_ok(name))
			reg_vinvalid_str(
			    v, "name", name,
			    "a valid environment variable name must be letters, digits, "
			    "'_', '-' or '.', and must not start with a digit");
		reg_vstr(v, e, "value");
		const cJSON *vf = reg_vobj(v, e, "valueFrom");
		if (vf) {
			static const char *const srcs[] = { "fieldRef", "resourceFieldRef",
				                            "configMapKeyRef", "secretKeyRef" };
			int n = 0;
			for (size_t s = 0; s < ARRAY_SIZE(srcs); s++)
				n += reg_get(vf, srcs[s]) != NULL;
			size_t m2 = reg_vkey(v, "valueFrom");
			/* Each source names what it reads. */
			static const char *const needs[] = { "fieldPath", "resource", "key",
				                             "key" };
			for (size_t s = 0; s < ARRAY_SIZE(srcs); s++) {
				const cJSON *src = reg_vobj(v, vf, srcs[s]);
				if (!src)
					continue;
				size_t m3 = reg_vkey(v, srcs[s]);
				reg_vstr_req(v, src, needs[s]);
				if (s >= 2)
					reg_vstr(v, src, "name");
				reg_vpop(v, m3);
			}
			if (n == 0)
				reg_vinvalid(v, NULL, vf,
				             "must specify one of: `fieldRef`, "
				             "`resourceFieldRef`, `configMapKeyRef` or "
				             "`secretKeyRef`");
			else if (n > 1)
				reg_vinvalid(v, NULL, vf,
				             "may not have more than one field specified "
				             "at a time");
			reg_vpop(v, m2);
			if (reg_get(e, "value") && *reg_at_strz(e, "value"))
				reg_vinvalid(v, "valueFrom", vf,
				             "may not be specified when `value` is not empty");
		}
		reg_vpop(v, m);
	}
}

static void validate_ports(struct reg_vctx *v, const cJSON *c, bool host_network)
{
	const cJSON *ports = reg_varr(v, c, "ports"), *p;
	int i = 0;
	cJSON_ArrayForEach(p, ports)
	{
		size_t m = reg_vkey(v, "ports");
		reg_vidx(v, i++);
		if (!cJSON_IsObject(p)) {
			reg_vinvalid(v, NULL, p, "must be an object");
			reg_vpop(v, m);
			continue;
		}
		const char *name = reg_vstr(v, p, "name");
		if (name && *name) {
			struct reg_errors *saved = v->errs;
			size_t before = saved ? saved->n : 0;
			reg_check_port_name(v, "name", name);
			/* Duplicate names only matter for names that are valid. */
			if (!saved || saved->n == before) {
				const cJSON *q;
				int j = 0;
				cJSON_ArrayForEach(q, ports)
				{
					if (j++ >= i - 1)
						break;
					const char *qn = reg_at_str(q, "name");
					if (qn && !strcmp(qn, name)) {
						reg_vduplicate(v, "name", reg_get(p, "name"));
						break;
					}
				}
			}
		}
		int64_t cp = 0, hp = 0;
		reg_vport(v, p, "containerPort", true);
		reg_json_int(reg_get(p, "containerPort"), &cp);
		if (reg_vint(v, p, "hostPort", &hp) && hp != 0) {
			if (hp < 1 || hp > 65535)
				reg_vinvalid_int(v, "hostPort", hp,
				                 "must be between 1 and 65535, inclusive");
			else if (host_network && hp != cp)
				reg_vinvalid_int(
				    v, "hostPort", hp,
				    "must match `containerPort` when `hostNetwork` is true");
		}
		reg_venum(v, p, "protocol", true, protocols);
		reg_vpop(v, m);
	}
}

static bool has_volume(const cJSON *spec, const char *name)
{
	const cJSON *vol;
	cJSON_ArrayForEach(vol, reg_at_arr(spec, "volumes"))
	{
		const char *n = reg_at_str(vol, "name");
		if (n && !strcmp(n, name))
			return true;
	}
	return false;
}

static void validate_mounts(struct reg_vctx *v, const cJSON *c, const cJSON *spec)
{
	const cJSON *mounts = reg_varr(v, c, "volumeMounts"), *vm;
	int i = 0;
	cJSON_ArrayForEach(vm, mounts)
	{
		size_t m = reg_vkey(v, "volumeMounts");
		reg_vidx(v, i++);
		if (!cJSON_IsObject(vm)) {
			reg_vinvalid(v, NULL, vm, "must be an object");
			reg_vpop(v, m);
			continue;
		}
		const char *name = reg_vstr_req(v, vm, "name");
		if (name && !has_volume(spec, name)) {
			char f[300];
			snprintf(f, sizeof(f), "%.250s.name", v->path);
			reg_err(v->errs, "FieldValueNotFound", f, "Not found: \"%s\"", name);
		}
		reg_vstr_req(v, vm, "mountPath");
		reg_vpop(v, m);
	}
}

static void validate_container(struct reg_vctx *v, const cJSON *c, const cJSON *spec,
                               enum reg_podspec_use use, bool init)
{
	const char *name = reg_vstr_req(v, c, "name");
	if (name)
		reg_vdns_label(v, "name", name);
	const char *image = reg_vstr(v, c, "image");
	if (!image || !*image) {
		if (!reg_get(c, "image") || cJSON_IsString(reg_get(c, "image")))
			reg_vreq(v, "image", NULL);
	} else if (use == REG_POD) {
		size_t n = strlen(image);
		if (image[0] == ' ' || image[0] == '\t' || image[n - 1] == ' ' ||
		    image[n - 1] == '\t' || image[n - 1] == '\n')
			reg_vinvalid_str(v, "image", image,
			                 "must not have leading or trailing whitespace");
	}
	reg_venum(v, c, "terminationMessagePolicy", true, message_policies);
	validate_ports(v, c, reg_at_bool(spec, "hostNetwork", false));
	validate_env(v, c);
	reg_venum(v, c, "imagePullPolicy", true, pull_policies);
	reg_vobj(v, c, "securityContext");
	reg_vstrlist(v, c, "command");
	reg_vstrlist(v, c, "args");
	validate_resources(v, c);
	validate_mounts(v, c, spec);
	const char *rp = reg_vstr(v, c, "restartPolicy");
	bool restartable = init && rp && !strcmp(rp, "Always");
	if (rp && *rp) {
		if (!init)
			reg_vforbidden(v, "restartPolicy",
			               "may not be set for non-init containers");
		else if (!restartable) {
			static const char *const always[] = { "Always", NULL };
			reg_vunsupported(v, "restartPolicy", rp, always);
		}
	}
	static const char *const probes[] = { "livenessProbe", "readinessProbe", "startupProbe" };
	for (size_t i = 0; i < ARRAY_SIZE(probes); i++) {
		if (init && !restartable && reg_get(c, probes[i])) {
			reg_vforbidden(v, probes[i],
			               "may not be set for init containers without "
			               "restartPolicy=Always");
			continue;
		}
		validate_probe(v, c, probes[i], i != 1);
	}
	const cJSON *lc = reg_vobj(v, c, "lifecycle");
	if (lc) {
		size_t m = reg_vkey(v, "lifecycle");
		if (init && !restartable)
			reg_vforbidden(v, NULL,
			               "may not be set for init containers without "
			               "restartPolicy=Always");
		static const char *const hooks[] = { "postStart", "preStop" };
		for (size_t i = 0; i < ARRAY_SIZE(hooks); i++) {
			const cJSON *h = reg_vobj(v, lc, hooks[i]);
			if (!h)
				continue;
			size_t m2 = reg_vkey(v, hooks[i]);
			validate_handler(v, h, false);
			reg_vpop(v, m2);
		}
		reg_vpop(v, m);
	}
}

/* Validates one container list; names holds the names seen so far, for duplicates. */
static void validate_containers(struct reg_vctx *v, const cJSON *spec, const char *key,
                                enum reg_podspec_use use, const cJSON **seen, int *nseen)
{
	const cJSON *list = reg_varr(v, spec, key), *c;
	int i = 0;
	cJSON_ArrayForEach(c, list)
	{
		size_t m = reg_vkey(v, key);
		reg_vidx(v, i++);
		if (!cJSON_IsObject(c)) {
			reg_vinvalid(v, NULL, c, "must be an object");
			reg_vpop(v, m);
			continue;
		}
		validate_container(v, c, spec, use, !strcmp(key, "initContainers"));
		const cJSON *name = reg_get(c, "name");
		if (cJSON_IsString(name) && *name->valuestring) {
			for (int k = 0; k < *nseen; k++)
				if (!strcmp(seen[k]->valuestring, name->valuestring)) {
					reg_vduplicate(v, "name", name);
					break;
				}
			seen[(*nseen)++] = name;
		}
		reg_vpop(v, m);
	}
}

/* A configMap or secret volume: its name, and the keys it maps to paths. */
static void validate_projection(struct reg_vctx *v, const cJSON *vol, const char *key,
                                const char *name_key)
{
	const cJSON *src = reg_vobj(v, vol, key), *it;
	if (!src)
		return;
	size_t m = reg_vkey(v, key);
	reg_vstr(v, src, name_key);
	reg_vbool(v, src, "optional");
	int64_t mode;
	if (reg_vint(v, src, "defaultMode", &mode) && (mode < 0 || mode > 0777))
		reg_vinvalid_int(v, "defaultMode", mode,
		                 "must be a number between 0 and 0777 (octal), both inclusive");
	int i = 0;
	cJSON_ArrayForEach(it, reg_varr(v, src, "items"))
	{
		size_t m2 = reg_vkey(v, "items");
		reg_vidx(v, i++);
		if (!cJSON_IsObject(it)) {
			reg_vinvalid(v, NULL, it, "must be an object");
		} else {
			reg_vstr_req(v, it, "key");
			reg_vstr_req(v, it, "path");
		}
		reg_vpop(v, m2);
	}
	reg_vpop(v, m);
}

static void validate_volumes(struct reg_vctx *v, const cJSON *spec)
{
	const cJSON *vols = reg_varr(v, spec, "volumes"), *vol;
	int i = 0;
	cJSON_ArrayForEach(vol, vols)
	{
		size_t m = reg_vkey(v, "volumes");
		reg_vidx(v, i);
		if (!cJSON_IsObject(vol)) {
			reg_vinvalid(v, NULL, vol, "must be an object");
			reg_vpop(v, m);
			i++;
			continue;
		}
		const char *name = reg_vstr_req(v, vol, "name");
		if (name) {
			reg_vdns_label(v, "name", name);
			const cJSON *o;
			int j = 0;
			cJSON_ArrayForEach(o, vols)
			{
				if (j++ >= i)
					break;
				const char *on = reg_at_str(o, "name");
				if (on && !strcmp(on, name)) {
					reg_vduplicate(v, "name", reg_get(vol, "name"));
					break;
				}
			}
		}
		const cJSON *pvc = reg_vobj(v, vol, "persistentVolumeClaim");
		if (pvc) {
			size_t m2 = reg_vkey(v, "persistentVolumeClaim");
			reg_vstr_req(v, pvc, "claimName");
			reg_vpop(v, m2);
		}
		validate_projection(v, vol, "configMap", "name");
		validate_projection(v, vol, "secret", "secretName");
		const cJSON *hp = reg_vobj(v, vol, "hostPath");
		if (hp) {
			size_t m2 = reg_vkey(v, "hostPath");
			reg_vstr_req(v, hp, "path");
			reg_vpop(v, m2);
		}
		reg_vpop(v, m);
		i++;
	}
}

static void validate_tolerations(struct reg_vctx *v, const cJSON *spec)
{
	static const char *const ops[] = { "Equal", "Exists", NULL };
	static const char *const effects[] = { "NoSchedule", "PreferNoSchedule", "NoExecute",
		                               NULL };
	const cJSON *tols = reg_varr(v, spec, "tolerations"), *t;
	int i = 0;
	cJSON_ArrayForEach(t, tols)
	{
		size_t m = reg_vkey(v, "tolerations");
		reg_vidx(v, i++);
		if (!cJSON_IsObject(t)) {
			reg_vinvalid(v, NULL, t, "must be an object");
			reg_vpop(v, m);
			continue;
		}
		const char *key = reg_vstr(v, t, "key");
		const char *op = reg_vstr(v, t, "operator");
		const char *value = reg_vstr(v, t, "value");
		if (key && *key)
			reg_vqualified(v, "key", key);
		if ((!key || !*key) && op && *op && strcmp(op, "Exists") != 0)
			reg_vinvalid_str(v, "operator", op,
			                 "operator must be Exists when `key` is empty, which means "
			                 "\"match all values and all keys\"");
		if (op && *op) {
			if (!strcmp(op, "Exists")) {
				if (value && *value)
					reg_vinvalid(
					    v, "operator", t,
					    "value must be empty when `operator` is 'Exists'");
			} else if (!strcmp(op, "Equal")) {
				if (value)
					reg_vlabel_value(v, "value", value);
			} else {
				reg_vunsupported(v, "operator", op, ops);
			}
		}
		const char *effect = reg_venum(v, t, "effect", false, effects);
		int64_t secs;
		if (reg_vint(v, t, "tolerationSeconds", &secs) &&
		    (!effect || strcmp(effect, "NoExecute") != 0))
			reg_vinvalid_str(
			    v, "effect", effect ? effect : "",
			    "effect must be 'NoExecute' when `tolerationSeconds` is set");
		reg_vpop(v, m);
	}
}

void reg_podspec_validate(struct reg_vctx *v, const cJSON *spec, enum reg_podspec_use use)
{
	validate_volumes(v, spec);
	const cJSON *containers = reg_get(spec, "containers");
	int n = reg_count(reg_get(spec, "initContainers")) + reg_count(containers);
	const cJSON **seen = xcalloc((size_t)n + 1, sizeof(*seen));
	int nseen = 0;
	if (reg_count(containers) == 0 && (!containers || cJSON_IsArray(containers)))
		reg_vreq(v, "containers", NULL);
	/* Init containers are named first, so a regular container repeating a name is the
	 * duplicate, as upstream reports it. */
	validate_containers(v, spec, "initContainers", use, seen, &nseen);
	validate_containers(v, spec, "containers", use, seen, &nseen);
	free(seen);

	const char *rp = reg_venum(v, spec, "restartPolicy", true, restart_policies);
	if (rp && use == REG_TEMPLATE_ALWAYS && strcmp(rp, "Always") != 0) {
		static const char *const always[] = { "Always", NULL };
		reg_vunsupported(v, "restartPolicy", rp, always);
	}
	if (use == REG_TEMPLATE_JOB && (!rp || (strcmp(rp, "OnFailure") && strcmp(rp, "Never")))) {
		static const char *const job[] = { "OnFailure", "Never", NULL };
		reg_vunsupported(v, "restartPolicy", rp ? rp : "", job);
	}
	const char *dns = reg_venum(v, spec, "dnsPolicy", true, dns_policies);
	if (dns && !strcmp(dns, "None") && !reg_get(spec, "dnsConfig"))
		reg_vreq(v, "dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None");
	reg_vlabels(v, spec, "nodeSelector");
	const char *s;
	if ((s = reg_vstr(v, spec, "serviceAccountName")) && *s)
		reg_vdns_subdomain(v, "serviceAccountName", s);
	if ((s = reg_vstr(v, spec, "nodeName")) && *s)
		reg_vdns_subdomain(v, "nodeName", s);
	if ((s = reg_vstr(v, spec, "hostname")) && *s)
		reg_vdns_label(v, "hostname", s);
	if ((s = reg_vstr(v, spec, "subdomain")) && *s)
		reg_vdns_label(v, "subdomain", s);
	reg_vstr(v, spec, "schedulerName");
	reg_vstr(v, spec, "priorityClassName");
	reg_vbool(v, spec, "hostNetwork");
	reg_vbool(v, spec, "hostPID");
	reg_vbool(v, spec, "hostIPC");
	reg_vbool(v, spec, "enableServiceLinks");
	reg_vbool(v, spec, "automountServiceAccountToken");
	reg_vobj(v, spec, "securityContext");
	reg_vobj(v, spec, "affinity");
	int64_t ads;
	if (reg_vint(v, spec, "activeDeadlineSeconds", &ads)) {
		if (use == REG_TEMPLATE_ALWAYS)
			reg_vforbidden(
			    v, "activeDeadlineSeconds",
			    "activeDeadlineSeconds in a workload template is not supported");
		else if (ads < 1 || ads > 2147483647)
			reg_vinvalid_int(v, "activeDeadlineSeconds", ads,
			                 "must be between 1 and 2147483647, inclusive");
	}
	reg_vnonneg(v, spec, "terminationGracePeriodSeconds", NULL);
	validate_tolerations(v, spec);
	const cJSON *gates = reg_varr(v, spec, "schedulingGates"), *g;
	int i = 0;
	cJSON_ArrayForEach(g, gates)
	{
		size_t m = reg_vkey(v, "schedulingGates");
		reg_vidx(v, i++);
		const char *name;
		if (!cJSON_IsObject(g))
			reg_vinvalid(v, NULL, g, "must be an object");
		else if ((name = reg_vstr_req(v, g, "name")))
			reg_vqualified(v, "name", name);
		reg_vpop(v, m);
	}
	const cJSON *rg = reg_varr(v, spec, "readinessGates");
	i = 0;
	cJSON_ArrayForEach(g, rg)
	{
		size_t m = reg_vkey(v, "readinessGates");
		reg_vidx(v, i++);
		const char *type;
		if (!cJSON_IsObject(g))
			reg_vinvalid(v, NULL, g, "must be an object");
		else if ((type = reg_vstr_req(v, g, "conditionType")))
			reg_vqualified(v, "conditionType", type);
		reg_vpop(v, m);
	}
	reg_varr(v, spec, "ephemeralContainers");
}

bool reg_template_labels(const cJSON *spec, const cJSON **labels)
{
	static const char *const steps[] = { "template", "metadata", "labels" };
	const cJSON *o = spec;
	*labels = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		o = reg_get(o, steps[i]);
		if (!o)
			return true;
		if (!cJSON_IsObject(o))
			return false;
	}
	*labels = o;
	return true;
}

void reg_template_validate(struct reg_vctx *v, const cJSON *o, const char *key,
                           enum reg_podspec_use use)
{
	const cJSON *tmpl = reg_vobj(v, o, key);
	static const cJSON empty = { .type = cJSON_Object };
	if (!tmpl) {
		if (reg_get(o, key))
			return; /* wrong type, reported */
		tmpl = &empty;
	}
	size_t m = reg_vkey(v, key);
	const cJSON *meta = reg_vobj(v, tmpl, "metadata");
	if (meta) {
		size_t m2 = reg_vkey(v, "metadata");
		reg_vlabels(v, meta, "labels");
		reg_vstrmap(v, meta, "annotations");
		reg_vpop(v, m2);
	}
	const cJSON *spec = reg_vobj(v, tmpl, "spec");
	if (spec) {
		size_t m2 = reg_vkey(v, "spec");
		reg_podspec_validate(v, spec, use);
		reg_vpop(v, m2);
	} else if (!reg_get(tmpl, "spec")) {
		/* An absent spec means no containers. */
		size_t m2 = reg_vkey(v, "spec");
		reg_vreq(v, "containers", NULL);
		reg_vpop(v, m2);
	}
	reg_vpop(v, m);
}
