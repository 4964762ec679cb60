/* cri_clean: stops and removes every pod sandbox (and so every container) of a CRI runtime,
 * so that tests leave no containers, mounts or network namespaces behind. Prints how many
 * it removed. */
#include "config.h"
#ifndef CONFIG_TUG_KUBELET
#include <stdio.h>
int main(void)
{
	fprintf(stderr, "built without CONFIG_TUG_KUBELET: no CRI client\n");
	return 77;
}
#else
#include <stdio.h>
#include <string.h>

#include "core/loop/loop.h"
#include "core/util/util.h"
#include "cri/cri.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: cri_clean ENDPOINT\n");
		return 2;
	}
	struct loop *loop = NULL;
	struct cri *cri = NULL;
	struct err e = { 0 };
	int rc = 1, removed = 0, failed = 0;
	if (loop_new(&loop) < 0 || cri_new(loop, argv[1], &cri, &e) < 0) {
		fprintf(stderr, "cri_clean: %s\n", e.msg);
		goto out;
	}
	Runtime__V1__ListPodSandboxRequest lreq = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__ListPodSandboxResponse *l = NULL;
	if (cri_list_pod_sandbox_wait(cri, &lreq, 10000, &l, &e) < 0) {
		fprintf(stderr, "cri_clean: %s\n", e.msg);
		goto out;
	}
	for (size_t i = 0; i < l->n_items; i++) {
		Runtime__V1__StopPodSandboxRequest sreq =
		    RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
		Runtime__V1__StopPodSandboxResponse *s = NULL;
		Runtime__V1__RemovePodSandboxRequest rreq =
		    RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
		Runtime__V1__RemovePodSandboxResponse *r = NULL;
		sreq.pod_sandbox_id = rreq.pod_sandbox_id = l->items[i]->id;
		if (cri_stop_pod_sandbox_wait(cri, &sreq, 60000, &s, &e) < 0 ||
		    cri_remove_pod_sandbox_wait(cri, &rreq, 60000, &r, &e) < 0) {
			fprintf(stderr, "cri_clean: %s\n", e.msg);
			failed++;
		} else {
			removed++;
			const Runtime__V1__PodSandboxMetadata *m = l->items[i]->metadata;
			fprintf(stderr, "cri_clean: removed sandbox %s/%s\n",
			        m && m->namespace_ ? m->namespace_ : "?",
			        m && m->name ? m->name : "?");
		}
		cri_free_msg(s);
		cri_free_msg(r);
	}
	cri_free_msg(l);
	printf("%d\n", removed);
	rc = failed ? 1 : 0;
out:
	cri_free(cri);
	loop_free(loop);
	return rc;
}
#endif
