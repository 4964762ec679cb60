/* job: not written yet. */
#include "core/controllers/workloads-internal.h"

struct wl_ctl *wl_job_new(struct wl *w)
{
	UNUSED(w);
	return NULL;
}
