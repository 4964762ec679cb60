/* bootstrap: the objects every cluster has from its first start, written through the same
 * create path as any client's, so they get the same defaults. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define LOG_TAG "api"
#include "core/api/api-internal.h"
#include "core/log/log.h"

struct wait {
	bool done;
	int code;
	char msg[1024];
};

static void on_done(void *arg, struct api_status *st, cJSON *obj)
{
	struct wait *w = arg;
	w->done = true;
	w->code = st->code;
	snprintf(w->msg, sizeof(w->msg), "%s", st->message);
}

/* Runs the loop until the write finishes: bootstrap happens before serving starts. */
static int put_obj(struct api *a, const char *resource, const char *group, const char *ns,
                   cJSON *obj, bool replace, struct err *e)
{
	const struct reg_kind *k = reg_lookup(group, "v1", resource);
	struct wait w = { 0 };
	if (!k) {
		cJSON_Delete(obj);
		return err_set(e, -ENOENT, "bootstrap: %s is not served", resource);
	}
	struct api_target t = { k, ns, NULL, NULL };
	cJSON *copy = replace ? cJSON_Duplicate(obj, true) : NULL;
	api_create(a, &t, obj, NULL, on_done, &w);
	while (!w.done)
		loop_run_once(a->loop, 100);
	if (w.code == 409 && replace) {
		/* Exists: make it what it should be (the node's address may have changed). */
		char name[256];
		snprintf(name, sizeof(name), "%s",
		         api_str(cJSON_GetObjectItemCaseSensitive(copy, "metadata"), "name"));
		struct api_target ut = { k, ns, name, NULL };
		memset(&w, 0, sizeof(w));
		cJSON *cur = NULL;
		struct api_status st = { 0 };
		if (api_get(a, &ut, &cur, &st) == 0) {
			cJSON_Delete(cJSON_DetachItemFromObjectCaseSensitive(copy, "metadata"));
			cJSON_AddItemToObject(
			    copy, "metadata",
			    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(cur, "metadata"),
			                    true));
			cJSON_Delete(cur);
			api_update(a, &ut, copy, NULL, on_done, &w);
			copy = NULL;
			while (!w.done)
				loop_run_once(a->loop, 100);
		}
		api_status_clear(&st);
	}
	cJSON_Delete(copy);
	if (w.code != 200 && w.code != 201 && w.code != 409)
		return err_set(e, -EIO, "bootstrap %s: %s", resource, w.msg);
	return 0;
}

static cJSON *named(const char *name)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *m = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(m, "name", name);
	return o;
}

int api_bootstrap(struct api *a, const char *cluster_info_kubeconfig, struct err *e)
{
	static const char *const nss[] = { "default", "kube-system", "kube-public",
		                           "kube-node-lease" };
	int rc;
	for (size_t i = 0; i < ARRAY_SIZE(nss); i++)
		if ((rc = put_obj(a, "namespaces", "", NULL, named(nss[i]), false, e)) < 0)
			return rc;

	if (cluster_info_kubeconfig) {
		cJSON *cm = named("cluster-info");
		cJSON *d = cJSON_AddObjectToObject(cm, "data");
		cJSON_AddStringToObject(d, "kubeconfig", cluster_info_kubeconfig);
		if ((rc = put_obj(a, "configmaps", "", "kube-public", cm, true, e)) < 0)
			return rc;
	}

	char ip[INET_ADDRSTRLEN];
	struct in_addr in = { htonl(a->svc_net + 1) };
	inet_ntop(AF_INET, &in, ip, sizeof(ip));
	cJSON *svc = named("kubernetes");
	cJSON *labels = cJSON_AddObjectToObject(api_meta(svc), "labels");
	cJSON_AddStringToObject(labels, "component", "apiserver");
	cJSON_AddStringToObject(labels, "provider", "kubernetes");
	cJSON *spec = cJSON_AddObjectToObject(svc, "spec");
	cJSON_AddStringToObject(spec, "type", "ClusterIP");
	cJSON_AddStringToObject(spec, "clusterIP", ip);
	cJSON *port = cJSON_CreateObject();
	cJSON_AddStringToObject(port, "name", "https");
	cJSON_AddStringToObject(port, "protocol", "TCP");
	cJSON_AddNumberToObject(port, "port", 443);
	cJSON_AddNumberToObject(port, "targetPort", a->https_port);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(spec, "ports"), port);
	if ((rc = put_obj(a, "services", "", "default", svc, false, e)) < 0)
		return rc;

	cJSON *ep = named("kubernetes");
	cJSON *eplabels = cJSON_AddObjectToObject(api_meta(ep), "labels");
	cJSON_AddStringToObject(eplabels, "endpointslice.kubernetes.io/skip-mirror", "true");
	cJSON *subset = cJSON_CreateObject();
	cJSON *addr = cJSON_CreateObject();
	cJSON_AddStringToObject(addr, "ip", a->advertise_ip);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(subset, "addresses"), addr);
	cJSON *epp = cJSON_CreateObject();
	cJSON_AddStringToObject(epp, "name", "https");
	cJSON_AddNumberToObject(epp, "port", a->https_port);
	cJSON_AddStringToObject(epp, "protocol", "TCP");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(subset, "ports"), epp);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(ep, "subsets"), subset);
	if ((rc = put_obj(a, "endpoints", "", "default", ep, true, e)) < 0)
		return rc;

	cJSON *es = named("kubernetes");
	cJSON *eslabels = cJSON_AddObjectToObject(api_meta(es), "labels");
	cJSON_AddStringToObject(eslabels, "kubernetes.io/service-name", "kubernetes");
	cJSON_AddStringToObject(eslabels, "endpointslice.kubernetes.io/managed-by",
	                        "endpointslicemirroring-controller.k8s.io");
	cJSON_AddStringToObject(es, "addressType", strchr(a->advertise_ip, ':') ? "IPv6" : "IPv4");
	cJSON *endpoint = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(endpoint, "addresses"),
	                     cJSON_CreateString(a->advertise_ip));
	cJSON_AddTrueToObject(cJSON_AddObjectToObject(endpoint, "conditions"), "ready");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(es, "endpoints"), endpoint);
	cJSON *esp = cJSON_CreateObject();
	cJSON_AddStringToObject(esp, "name", "https");
	cJSON_AddNumberToObject(esp, "port", a->https_port);
	cJSON_AddStringToObject(esp, "protocol", "TCP");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(es, "ports"), esp);
	if ((rc = put_obj(a, "endpointslices", "discovery.k8s.io", "default", es, true, e)) < 0)
		return rc;
	return 0;
}
