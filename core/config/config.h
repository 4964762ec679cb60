/* config: the settings of a tug process, from flags and /etc/tug/config.yaml (same keys;
 * flags win), validated with messages that name the flag or the file and line. */
#ifndef TUG_CONFIG_H
#define TUG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/util/util.h"

#define CONFIG_DEFAULT_FILE "/etc/tug/config.yaml"

/* Which subcommands an option belongs to. */
enum {
	CFG_SERVER = 1 << 0,
	CFG_AGENT = 1 << 1,
	CFG_CHECK = 1 << 2,
	CFG_ALL = CFG_SERVER | CFG_AGENT | CFG_CHECK,
	CFG_NODE = CFG_SERVER | CFG_AGENT,
};

struct str_list {
	char **v;
	size_t n;
};

struct tug_config {
	/* general */
	char *config_file;
	bool debug;
	char *log_level;
	char *data_dir;
	/* store */
	char *volatile_dir;
	uint64_t store_checkpoint_ms;
	uint64_t store_retention_ms;
	uint64_t store_retention_revisions;
	/* node */
	char *node_name;
	struct str_list node_ip;
	struct str_list node_label;
	struct str_list node_taint;
	char *container_runtime_endpoint;
	uint64_t node_lease_ms;
	char *cni_bridge;
	/* server */
	char *bind_address;
	int64_t https_listen_port;
	char *advertise_address;
	struct str_list tls_san;
	char *cluster_cidr;
	char *service_cidr;
	uint64_t node_monitor_period_ms;
	uint64_t node_monitor_grace_ms;
	char *cluster_dns;
	char *cluster_domain;
	char *write_kubeconfig;
	char *write_kubeconfig_mode;
	bool disable_agent;
	struct str_list disable;
	/* agent */
	char *server;
	char *token;
};

/* Defaults into c (cleared first). */
void config_defaults(struct tug_config *c);
void config_free(struct tug_config *c);

/*
 * Parses argv (after the subcommand name) for subcommand mask `cmd`, loading
 * the config file first when one is named or the default exists. Sets *help
 * when --help was asked. Returns 0 or a negative code with e's message.
 */
int config_load(struct tug_config *c, unsigned cmd, int argc, char **argv, bool *help,
                struct err *e);
/* Loads one YAML file into c (flags override it afterwards). */
int config_load_file(struct tug_config *c, unsigned cmd, const char *path, struct err *e);
/* Checks values (CIDRs, ports, names) once everything is loaded. */
int config_validate(const struct tug_config *c, unsigned cmd, struct err *e);
/* Prints the options of subcommand cmd as --help does. */
void config_usage(FILE *out, unsigned cmd);

/* Shared validators, also used by the API's validation. */
bool config_valid_cidr(const char *s, int *family);
bool config_valid_ip(const char *s, int *family);
bool config_valid_dns1123_subdomain(const char *s);

#endif
