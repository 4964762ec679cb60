/* cni-internal: what the plugin's files share: the parsed config and request, error codes. */
#ifndef TUG_CNI_INTERNAL_H
#define TUG_CNI_INTERNAL_H

#include <cjson/cJSON.h>
#include <net/if.h>

#include "net/cni/cni.h"
#include "net/ipaddr/ipaddr.h"
#include "net/ipam/ipam.h"

/* Error codes from the spec (0-99) and ours (100+). */
enum {
	CNI_ERR_VERSION = 1,
	CNI_ERR_UNSUPPORTED_FIELD = 2,
	CNI_ERR_UNKNOWN_CONTAINER = 3,
	CNI_ERR_ENV = 4,
	CNI_ERR_IO = 5,
	CNI_ERR_DECODE = 6,
	CNI_ERR_CONFIG = 7,
	CNI_ERR_TRY_AGAIN = 11,
	CNI_ERR_UNAVAILABLE = 50,
	CNI_ERR_UNAVAILABLE_LIMITED = 51,
	CNI_ERR_NETWORK = 100, /* the kernel refused a change, or a file could not be written */
	CNI_ERR_CHECK = 101,   /* CHECK found the attachment not as ADD left it */
};

/* A failure as the runtime will see it: a code and the details, which say what was being
 * done with what (the short "msg" comes from the code). */
struct cni_error {
	int code;
	struct err e;
};
int cni_fail(struct cni_error *ce, int code, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

enum cni_cmd { CNI_ADD, CNI_DEL, CNI_CHECK, CNI_STATUS, CNI_GC, CNI_VERSION };

/* The CNI_* environment. */
struct cni_req {
	enum cni_cmd cmd;
	const char *container_id, *netns, *ifname, *args, *path;
};

/* runtimeConfig.portMappings: a pod's hostPorts, which the runtime passes because the
 * conflist declares the portMappings capability. */
#define CNI_MAX_PORTMAPS 128
struct cni_portmap {
	uint8_t proto; /* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP */
	uint16_t host_port, container_port;
	struct ipaddr host_ip; /* family 0: every local address of the node */
};
/* Parses one entry ({hostPort, containerPort, protocol, hostIP}); what of names the list
 * in messages. */
int cni_portmap_parse(const cJSON *o, const char *what, struct cni_portmap *pm,
                      struct cni_error *ce);
const char *cni_proto_name(uint8_t proto);

/* The network configuration as the plugin uses it. Strings point into root. */
struct cni_conf {
	cJSON *root;
	const char *version;
	const char *name;
	char bridge[IF_NAMESIZE];
	unsigned mtu;
	bool hairpin;
	bool ip_masq;
	const char *masq_table;
	struct ipaddr_net keep[CNI_MAX_CLUSTER_CIDRS];
	size_t n_keep;
	char *ipam_dir; /* <dataDir>/<name>, owned */
	struct ipam_range ranges[IPAM_MAX_RANGES];
	size_t n_ranges;
	const cJSON *dns;         /* may be NULL */
	const cJSON *prev_result; /* may be NULL */
	const cJSON *attachments; /* GC's cni.dev/valid-attachments; may be NULL */
	struct cni_portmap ports[CNI_MAX_PORTMAPS];
	size_t n_ports;
	bool has_ports; /* runtimeConfig.portMappings was given, maybe empty */
};

/* Versions we speak, oldest first; the last is the newest. */
extern const char *const cni_versions[];
/* Compares "1.0.0"-style versions; unknown text sorts first. */
int cni_version_cmp(const char *a, const char *b);

/* Reads the environment for cmd. */
int cni_req_parse(struct cni_req *q, struct cni_error *ce);
/* Parses and checks stdin's JSON; c->root takes ownership of the parsed tree. */
int cni_conf_parse(const char *json, struct cni_conf *c, struct cni_error *ce);
void cni_conf_free(struct cni_conf *c);

/* The host-side veth of an attachment, and the alias that marks it ours. */
void cni_veth_name(const struct cni_conf *c, const struct cni_req *q, unsigned salt,
                   char out[IF_NAMESIZE]);
void cni_veth_alias(const struct cni_conf *c, const char *id, const char *ifname, char *out,
                    size_t cap);
/* Splits an alias of network c->name back into its container ID and interface name. */
bool cni_alias_parse(const struct cni_conf *c, const char *alias, char *id, size_t id_cap,
                     char *ifname, size_t if_cap);

/* What ADD made, for its result. */
struct cni_attachment {
	char bridge[IF_NAMESIZE];
	uint8_t bridge_mac[6];
	char veth[IF_NAMESIZE];
	uint8_t veth_mac[6];
	uint8_t pod_mac[6];
	struct ipaddr addrs[IPAM_MAX_RANGES];
};

/* link.c: the kernel side of each verb. */
int cni_link_add(const struct cni_conf *c, const struct cni_req *q, int nsfd,
                 struct cni_attachment *at, struct cni_error *ce);
int cni_link_del(const struct cni_conf *c, const struct cni_req *q, struct cni_error *ce);
int cni_link_check(const struct cni_conf *c, const struct cni_req *q, int nsfd,
                   const struct ipaddr *addrs, const char *pod_mac, struct cni_error *ce);
/* Deletes host veths of this network whose attachment is not in keep. */
int cni_link_gc(const struct cni_conf *c, const struct ipam_owner *keep, size_t n_keep,
                size_t *deleted, struct cni_error *ce);

/* hostport.c: runtimeConfig.portMappings as DNAT in the nftables table "tug-hp-<bridge>".
 * addrs are the pod's addresses (one per range, family 0 when none); what ADD installed
 * is kept under the data dir, so DEL and GC remove exactly that. */
int cni_hostport_add(const struct cni_conf *c, const struct cni_req *q, const struct ipaddr *addrs,
                     struct cni_error *ce);
/* Idempotent; addrs (may be NULL) with c's ports stand in for a missing record. */
int cni_hostport_del(const struct cni_conf *c, const struct cni_req *q, const struct ipaddr *addrs,
                     struct cni_error *ce);
int cni_hostport_check(const struct cni_conf *c, const struct cni_req *q,
                       const struct ipaddr *addrs, struct cni_error *ce);
int cni_hostport_gc(const struct cni_conf *c, const struct ipam_owner *keep, size_t n_keep,
                    size_t *removed, struct cni_error *ce);

#endif
