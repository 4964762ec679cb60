/* serviceaccount: every active namespace has a ServiceAccount "default" (made again when it is
 * deleted) and, when the cluster CA is known, the ConfigMap kube-root-ca.crt holding it. */
#include <stdio.h>
#include <string.h>

#define LOG_TAG "serviceaccount"
#include "core/controllers/cluster-internal.h"
#include "core/log/log.h"

#define SA_NAME "default"
#define CA_NAME "kube-root-ca.crt"
#define CA_KEY "ca.crt"
#define CA_ANNOTATION "kubernetes.io/description"
#define CA_DESCRIPTION                                                                             \
	"The CA bundle of the cluster's API server, for clients inside the cluster that reach it " \
	"at its service address (kubernetes.default.svc). Its other uses may differ between "      \
	"clusters."

struct ctrl_serviceaccount {
	struct cc_ctl b;
	const struct reg_kind *nsk, *sak, *cmk;
};

static int created(struct cc_ctl *b, const char *key, int code, const char *msg, cJSON *obj,
                   void *arg)
{
	/* 409: someone made it meanwhile; 403: the namespace began terminating. */
	if ((code >= 200 && code < 300) || code == 409 || code == 403 || code == 404)
		return 0;
	return -1;
}

static void ensure_sa(struct ctrl_serviceaccount *x, const char *ns)
{
	cJSON *sa = client_get(x->b.c, x->sak, ns, SA_NAME);
	if (sa) {
		cJSON_Delete(sa);
		return;
	}
	sa = cJSON_CreateObject();
	cJSON_AddStringToObject(sa, "apiVersion", "v1");
	cJSON_AddStringToObject(sa, "kind", "ServiceAccount");
	cJSON *m = cJSON_AddObjectToObject(sa, "metadata");
	cJSON_AddStringToObject(m, "name", SA_NAME);
	cJSON_AddStringToObject(m, "namespace", ns);
	cc_create(&x->b, ns, x->sak, ns, sa, created, NULL);
}

static void ensure_ca(struct ctrl_serviceaccount *x, const char *ns, const char *pem)
{
	cJSON *cm = client_get(x->b.c, x->cmk, ns, CA_NAME);
	const char *have = obj_get_str(cm, "data.ca\\.crt");
	const char *desc = obj_get_str(cm, "metadata.annotations.kubernetes\\.io/description");
	if (cm && have && !strcmp(have, pem) && desc && !strcmp(desc, CA_DESCRIPTION) &&
	    cJSON_GetArraySize(obj_get(cm, "data")) == 1) {
		cJSON_Delete(cm);
		return;
	}
	cJSON *obj = cm ? cm : cJSON_CreateObject();
	if (!cm) {
		cJSON_AddStringToObject(obj, "apiVersion", "v1");
		cJSON_AddStringToObject(obj, "kind", "ConfigMap");
		cJSON *m = cJSON_AddObjectToObject(obj, "metadata");
		cJSON_AddStringToObject(m, "name", CA_NAME);
		cJSON_AddStringToObject(m, "namespace", ns);
	}
	cJSON *m = obj_get_mut(obj, "metadata");
	cJSON *ann = cJSON_GetObjectItemCaseSensitive(m, "annotations");
	if (!cJSON_IsObject(ann)) {
		cJSON_DeleteItemFromObjectCaseSensitive(m, "annotations");
		ann = cJSON_AddObjectToObject(m, "annotations");
	}
	cJSON_DeleteItemFromObjectCaseSensitive(ann, CA_ANNOTATION);
	cJSON_AddStringToObject(ann, CA_ANNOTATION, CA_DESCRIPTION);
	/* The data is ours alone: anything else in it goes. */
	cJSON_DeleteItemFromObjectCaseSensitive(obj, "data");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(obj, "data"), CA_KEY, pem);
	if (cm)
		cc_update(&x->b, ns, x->cmk, ns, CA_NAME, NULL, obj, created, NULL);
	else
		cc_create(&x->b, ns, x->cmk, ns, obj, created, NULL);
}

static int sync_ns(struct cc_ctl *b, const char *key)
{
	struct ctrl_serviceaccount *x = (struct ctrl_serviceaccount *)b;
	cJSON *ns = client_get(b->c, x->nsk, NULL, key);
	const char *phase = obj_get_str(ns, "status.phase");
	if (!ns || cc_deleting(ns) || (phase && !strcmp(phase, "Terminating"))) {
		cJSON_Delete(ns);
		return 0;
	}
	cJSON_Delete(ns);
	ensure_sa(x, key);
	if (b->o.root_ca_pem && *b->o.root_ca_pem)
		ensure_ca(x, key, b->o.root_ca_pem);
	return 0;
}

/* --- events ------------------------------------------------------------------------------- */

static void on_ns(void *arg, const cJSON *ns)
{
	struct ctrl_serviceaccount *x = arg;
	if (!cc_deleting(ns))
		cc_enqueue_obj(&x->b, ns);
}

static void on_ns_update(void *arg, const cJSON *old, const cJSON *ns)
{
	on_ns(arg, ns);
}

static void on_sa_gone(void *arg, const cJSON *sa)
{
	struct ctrl_serviceaccount *x = arg;
	const char *name = cc_name(sa), *ns = cc_ns(sa);
	if (name && ns && !strcmp(name, SA_NAME))
		cc_enqueue(&x->b, ns);
}

static void on_cm(void *arg, const cJSON *cm)
{
	struct ctrl_serviceaccount *x = arg;
	const char *name = cc_name(cm), *ns = cc_ns(cm);
	if (name && ns && !strcmp(name, CA_NAME))
		cc_enqueue(&x->b, ns);
}

static void on_cm_update(void *arg, const cJSON *old, const cJSON *cm)
{
	on_cm(arg, cm);
}

static int resync_one(void *arg, const cJSON *ns)
{
	on_ns(arg, ns);
	return 0;
}

static void resync(struct cc_ctl *b)
{
	struct ctrl_serviceaccount *x = (struct ctrl_serviceaccount *)b;
	cc_each(ctrl_informers_get(b->inf, x->nsk), resync_one, x);
}

static void destroy(struct cc_ctl *b)
{
	cc_fini(b);
	free(b);
}

int ctrl_serviceaccount_start(struct ctrl_informers *f, const struct ctrl_cluster_opts *o,
                              struct ctrl_serviceaccount **out, struct err *e)
{
	struct ctrl_serviceaccount *x = xcalloc(1, sizeof(*x));
	cc_init(&x->b, f, o, "serviceaccount-controller");
	x->b.sync = sync_ns;
	x->b.resync = resync;
	x->b.destroy = destroy;
	x->nsk = cc_kind("", "namespaces");
	x->sak = cc_kind("", "serviceaccounts");
	x->cmk = cc_kind("", "configmaps");
	struct informer_handlers hn = { on_ns, on_ns_update, NULL, NULL, x };
	struct informer_handlers hs = { NULL, NULL, on_sa_gone, NULL, x };
	struct informer_handlers hc = { NULL, on_cm_update, on_cm, NULL, x };
	bool ca = x->b.o.root_ca_pem && *x->b.o.root_ca_pem;
	if (!x->nsk || !x->sak || !x->cmk || cc_watch(&x->b, "", "namespaces", &hn) ||
	    cc_watch(&x->b, "", "serviceaccounts", &hs) ||
	    (ca && cc_watch(&x->b, "", "configmaps", &hc))) {
		cc_stop(&x->b);
		return err_set(e, -ENOENT,
		               "service account controller: a kind it needs is not served");
	}
	cc_start(&x->b);
	*out = x;
	return 0;
}

void ctrl_serviceaccount_stop(struct ctrl_serviceaccount *x)
{
	if (x)
		cc_stop(&x->b);
}
