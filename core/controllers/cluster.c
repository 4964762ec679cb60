/* cluster: starts the cluster controllers together on one set of shared informers, and stops
 * them in reverse order. */
#include <stdio.h>
#include <string.h>

#define LOG_TAG "controllers"
#include "core/controllers/cluster-internal.h"
#include "core/log/log.h"

struct ctrl_cluster {
	struct ctrl_informers *inf;
	struct ctrl_cluster_opts o;
	char *root_ca; /* our copy: the option is kept by pointer */
	struct ctrl_namespace *ns;
	struct ctrl_gc *gc;
	struct ctrl_serviceaccount *sa;
	struct ctrl_resourcequota *rq;
	struct ctrl_nodeipam *ipam;
	struct ctrl_nodelifecycle *nl;
	struct ctrl_endpoints *ep;
	struct ctrl_endpointslice *eps;
};

int ctrl_cluster_start(struct client *c, const struct ctrl_cluster_opts *o,
                       struct ctrl_cluster **out, struct err *e)
{
	struct ctrl_cluster *cc = xcalloc(1, sizeof(*cc));
	if (o)
		cc->o = *o;
	if (cc->o.root_ca_pem) {
		cc->root_ca = xstrdup(cc->o.root_ca_pem);
		cc->o.root_ca_pem = cc->root_ca;
	}
	cc->inf = ctrl_informers_new(c);
	int rc;
	/* IPAM first: nodes need their pod CIDR before anything runs on them. */
	if ((rc = ctrl_nodeipam_start(cc->inf, &cc->o, &cc->ipam, e)) < 0 ||
	    (rc = ctrl_nodelifecycle_start(cc->inf, &cc->o, &cc->nl, e)) < 0 ||
	    (rc = ctrl_namespace_start(cc->inf, &cc->o, &cc->ns, e)) < 0 ||
	    (rc = ctrl_serviceaccount_start(cc->inf, &cc->o, &cc->sa, e)) < 0 ||
	    (rc = ctrl_resourcequota_start(cc->inf, &cc->o, &cc->rq, e)) < 0 ||
	    (rc = ctrl_endpointslice_start(cc->inf, &cc->o, &cc->eps, e)) < 0 ||
	    (rc = ctrl_endpoints_start(cc->inf, &cc->o, &cc->ep, e)) < 0 ||
	    (rc = ctrl_gc_start(cc->inf, &cc->o, &cc->gc, e)) < 0) {
		ctrl_cluster_stop(cc);
		return rc;
	}
	log_info("cluster controllers running (cluster CIDR %s)",
	         cc->o.cluster_cidr && *cc->o.cluster_cidr ? cc->o.cluster_cidr : "10.42.0.0/16");
	*out = cc;
	return 0;
}

void ctrl_cluster_stop(struct ctrl_cluster *cc)
{
	if (!cc)
		return;
	ctrl_gc_stop(cc->gc);
	ctrl_endpoints_stop(cc->ep);
	ctrl_endpointslice_stop(cc->eps);
	ctrl_resourcequota_stop(cc->rq);
	ctrl_serviceaccount_stop(cc->sa);
	ctrl_namespace_stop(cc->ns);
	ctrl_nodelifecycle_stop(cc->nl);
	ctrl_nodeipam_stop(cc->ipam);
	/* Controllers with writes in flight free themselves later; they no longer use the
	 * informers, which may go now. */
	ctrl_informers_free(cc->inf);
	free(cc->root_ca);
	free(cc);
}
