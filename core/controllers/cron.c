/* cron: not written yet. */
#include "core/controllers/workloads-internal.h"
