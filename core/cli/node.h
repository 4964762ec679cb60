/* node: the long-running `tug server` / `tug agent` process. Internal to core/cli. */
#ifndef TUG_CLI_NODE_H
#define TUG_CLI_NODE_H

#include <stdbool.h>

#include "core/config/config.h"

/* Runs until SIGTERM/SIGINT; returns the exit status. */
int node_run(struct tug_config *cfg, bool server);

#endif
