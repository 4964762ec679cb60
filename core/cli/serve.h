/* serve: the HTTPS API endpoint of `tug server`. Internal to core/cli. */
#ifndef TUG_CLI_SERVE_H
#define TUG_CLI_SERVE_H

#include <stdint.h>

#include "core/config/config.h"
#include "core/loop/loop.h"

struct serve;

/*
 * Makes or reuses the PKI under <data-dir>/server/tls, listens on
 * --bind-address:--https-listen-port (0: any free port) and writes the admin
 * kubeconfig naming the port it got. Logs and returns a negative errno on failure.
 */
struct api;
int serve_start(struct loop *l, const struct tug_config *c, struct api *api, struct serve **out);
/* The URL kubectl on this host uses, and the cluster CA (for kube-public/cluster-info). */
const char *serve_url(const struct serve *s);
const char *serve_ca_pem(const struct serve *s);
/* Stops accepting, lets requests finish; done(arg) runs once all connections are gone. */
void serve_shutdown(struct serve *s, uint32_t timeout_ms, void (*done)(void *arg), void *arg);
void serve_free(struct serve *s);

#endif
