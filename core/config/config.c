/* config: one table of options drives flag parsing, the YAML file, defaults and --help. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "core/config/config.h"

enum opt_type { OPT_STR, OPT_BOOL, OPT_INT, OPT_DURATION, OPT_LIST };

struct opt {
	const char *name; /* long flag and YAML key */
	char short_name;  /* 0: none */
	enum opt_type type;
	unsigned cmds;   /* CFG_* */
	size_t off;      /* into struct tug_config */
	const char *def; /* default, as a user would type it */
	const char *help;
	const char *metavar;
};

#define O(f) offsetof(struct tug_config, f)

static const struct opt opts[] = {
	{ "config", 'c', OPT_STR, CFG_ALL, O(config_file), NULL,
	  "Load options from FILE (default " CONFIG_DEFAULT_FILE " when it exists)", "FILE" },
	{ "debug", 0, OPT_BOOL, CFG_ALL, O(debug), "false", "Log debug messages", NULL },
	{ "log-level", 0, OPT_STR, CFG_ALL, O(log_level), "info", "error, warn, info or debug",
	  "LEVEL" },
	{ "data-dir", 'd', OPT_STR, CFG_NODE, O(data_dir), "/var/lib/tug",
	  "Folder for state: store, certificates, images", "DIR" },
	{ "volatile-dir", 0, OPT_STR, CFG_NODE, O(volatile_dir), "/run/tug",
	  "tmpfs folder for high-churn objects (leases, events); empty keeps them with the rest",
	  "DIR" },
	{ "store-checkpoint-interval", 0, OPT_DURATION, CFG_NODE, O(store_checkpoint_ms), "5s",
	  "Longest time between folding the write-ahead log into the database", "DURATION" },
	{ "store-retention", 0, OPT_DURATION, CFG_NODE, O(store_retention_ms), "5m",
	  "Keep watch history at least this long before compacting it", "DURATION" },
	{ "store-retention-revisions", 0, OPT_INT, CFG_NODE, O(store_retention_revisions), "10000",
	  "Compact watch history beyond this many revisions", "N" },
	{ "node-name", 0, OPT_STR, CFG_NODE, O(node_name), NULL,
	  "Node name (default: the hostname)", "NAME" },
	{ "node-ip", 'i', OPT_LIST, CFG_NODE, O(node_ip), NULL,
	  "IPv4/IPv6 address to advertise for the node (repeatable)", "IP" },
	{ "node-label", 0, OPT_LIST, CFG_NODE, O(node_label), NULL,
	  "Label to register the node with, key=value (repeatable)", "LABEL" },
	{ "node-taint", 0, OPT_LIST, CFG_NODE, O(node_taint), NULL,
	  "Taint to register the node with, key=value:Effect (repeatable)", "TAINT" },
	{ "container-runtime-endpoint", 0, OPT_STR, CFG_NODE, O(container_runtime_endpoint), NULL,
	  "CRI socket of an existing containerd (default: run our own)", "PATH" },
	{ "cni-bridge", 0, OPT_STR, CFG_NODE, O(cni_bridge), "tug0",
	  "Bridge tug-cni puts the pods on (its masquerade table is tug-cni-<bridge> unless tug0)",
	  "NAME" },
	{ "node-lease-interval", 0, OPT_DURATION, CFG_NODE, O(node_lease_ms), "10s",
	  "How often the node renews its Lease", "DURATION" },
	{ "bind-address", 0, OPT_STR, CFG_SERVER, O(bind_address), "0.0.0.0",
	  "Address the API server listens on", "IP" },
	{ "https-listen-port", 0, OPT_INT, CFG_SERVER, O(https_listen_port), "6443",
	  "Port the API server listens on (0: any free port)", "PORT" },
	{ "advertise-address", 0, OPT_STR, CFG_SERVER, O(advertise_address), NULL,
	  "Address other nodes use to reach the API server (default: node IP)", "IP" },
	{ "tls-san", 0, OPT_LIST, CFG_SERVER, O(tls_san), NULL,
	  "Extra hostname or IP in the serving certificate (repeatable)", "NAME" },
	{ "cluster-cidr", 0, OPT_STR, CFG_SERVER, O(cluster_cidr), "10.42.0.0/16",
	  "Pod network; each node gets a /24 of it (and a /64 of an IPv6 CIDR after a comma: "
	  "dual stack)",
	  "CIDR[,CIDR]" },
	{ "service-cidr", 0, OPT_STR, CFG_SERVER, O(service_cidr), "10.43.0.0/16",
	  "Service ClusterIP range", "CIDR" },
	{ "node-monitor-period", 0, OPT_DURATION, CFG_SERVER, O(node_monitor_period_ms), "5s",
	  "How often the node lifecycle controller checks node health", "DURATION" },
	{ "node-monitor-grace-period", 0, OPT_DURATION, CFG_SERVER, O(node_monitor_grace_ms), "40s",
	  "How long a node's Lease may go unrenewed before the node is marked Unknown",
	  "DURATION" },
	{ "cluster-dns", 0, OPT_STR, CFG_NODE, O(cluster_dns), "10.43.0.10",
	  "Cluster DNS service IP", "IP" },
	{ "cluster-domain", 0, OPT_STR, CFG_NODE, O(cluster_domain), "cluster.local",
	  "Cluster DNS domain", "DOMAIN" },
	{ "write-kubeconfig", 'o', OPT_STR, CFG_SERVER, O(write_kubeconfig), "/etc/tug/tug.yaml",
	  "Write the admin kubeconfig here", "FILE" },
	{ "write-kubeconfig-mode", 0, OPT_STR, CFG_SERVER, O(write_kubeconfig_mode), "0600",
	  "File mode of the kubeconfig", "MODE" },
	{ "disable-agent", 0, OPT_BOOL, CFG_SERVER, O(disable_agent), "false",
	  "Control plane only: run no kubelet, proxy or CNI here", NULL },
	{ "disable", 0, OPT_LIST, CFG_SERVER, O(disable), NULL,
	  "Component to leave off: scheduler, controllers, proxy, dns (repeatable)", "NAME" },
	{ "server", 's', OPT_STR, CFG_AGENT, O(server), NULL, "Server to join, https://HOST:6443",
	  "URL" },
	{ "token", 't', OPT_STR, CFG_AGENT | CFG_SERVER, O(token), NULL,
	  "Join token (K10<ca-hash>::<id>.<secret>)", "TOKEN" },
};

static void *field(struct tug_config *c, const struct opt *o)
{
	return (char *)c + o->off;
}

static void list_clear(struct str_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void list_add(struct str_list *l, const char *s)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = xstrdup(s);
}

static bool parse_bool(const char *s, bool *out)
{
	if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes") || !strcmp(s, "on")) {
		*out = true;
		return true;
	}
	if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no") || !strcmp(s, "off")) {
		*out = false;
		return true;
	}
	return false;
}

/* Sets one option from text. `where` names the source for messages: "--flag" or "file:line". */
static int set_value(struct tug_config *c, const struct opt *o, const char *v, bool append,
                     const char *where, struct err *e)
{
	void *f = field(c, o);
	switch (o->type) {
	case OPT_STR:
		free(*(char **)f);
		*(char **)f = xstrdup(v);
		return 0;
	case OPT_BOOL:
		if (!parse_bool(v, (bool *)f))
			return err_set(e, -EINVAL, "%s: '%s' is not a boolean (true or false)",
			               where, v);
		return 0;
	case OPT_INT: {
		uint64_t u;
		if (!parse_u64(v, &u) || u > INT64_MAX)
			return err_set(e, -EINVAL, "%s: '%s' is not a whole number", where, v);
		*(int64_t *)f = (int64_t)u;
		return 0;
	}
	case OPT_DURATION:
		if (!parse_duration_ms(v, (uint64_t *)f))
			return err_set(e, -EINVAL,
			               "%s: '%s' is not a duration (like 10s, 5m, 1h30m, 250ms)",
			               where, v);
		return 0;
	case OPT_LIST:
		if (!append)
			list_clear((struct str_list *)f);
		list_add((struct str_list *)f, v);
		return 0;
	}
	return -EINVAL;
}

static const struct opt *find_long(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		if (strlen(opts[i].name) == len && !strncmp(opts[i].name, name, len))
			return &opts[i];
	return NULL;
}

static const struct opt *find_short(char ch)
{
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		if (opts[i].short_name && opts[i].short_name == ch)
			return &opts[i];
	return NULL;
}

void config_defaults(struct tug_config *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		if (opts[i].def)
			set_value(c, &opts[i], opts[i].def, false, "default", NULL);
}

void config_free(struct tug_config *c)
{
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
		void *f = field(c, &opts[i]);
		if (opts[i].type == OPT_STR) {
			free(*(char **)f);
			*(char **)f = NULL;
		} else if (opts[i].type == OPT_LIST) {
			list_clear((struct str_list *)f);
		}
	}
}

/* --- YAML file ------------------------------------------------------------- */

static const char *yaml_err(yaml_parser_t *p)
{
	return p->problem ? p->problem : "malformed YAML";
}

int config_load_file(struct tug_config *c, unsigned cmd, const char *path, struct err *e)
{
	FILE *f = fopen(path, "rb");
	yaml_parser_t p;
	yaml_event_t ev;
	int rc = 0, depth = 0;
	const struct opt *cur = NULL; /* option whose value comes next */
	bool in_seq = false, have_key = false, done = false, seq_cleared = false;
	char where[600];

	if (!f)
		return err_set(e, -errno, "config file %s: %s", path, strerror(errno));
	if (!yaml_parser_initialize(&p)) {
		fclose(f);
		return err_set(e, -ENOMEM, "config file %s: cannot start YAML parser", path);
	}
	yaml_parser_set_input_file(&p, f);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = err_set(e, -EINVAL, "%s:%zu:%zu: %s", path, p.problem_mark.line + 1,
			             p.problem_mark.column + 1, yaml_err(&p));
			break;
		}
		size_t line = ev.start_mark.line + 1;
		snprintf(where, sizeof(where), "%s:%zu", path, line);
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_MAPPING_START_EVENT:
			if (depth != 0 || have_key) {
				rc = err_set(e, -EINVAL,
				             "%s: '%s' takes a value or a list, not a map", where,
				             cur ? cur->name : "?");
				break;
			}
			depth++;
			break;
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_SEQUENCE_START_EVENT:
			if (depth != 1 || !have_key || in_seq) {
				rc = err_set(e, -EINVAL, "%s: unexpected list", where);
				break;
			}
			if (cur->type != OPT_LIST) {
				rc = err_set(e, -EINVAL, "%s: '%s' takes one value, not a list",
				             where, cur->name);
				break;
			}
			in_seq = true;
			seq_cleared = false;
			break;
		case YAML_SEQUENCE_END_EVENT:
			/* A file shared by server and agent may carry the other role's keys. */
			if (!seq_cleared && (cur->cmds & cmd))
				list_clear((struct str_list *)field(c, cur));
			in_seq = false;
			have_key = false;
			break;
		case YAML_SCALAR_EVENT: {
			const char *v = (const char *)ev.data.scalar.value;
			if (depth != 1) {
				rc = err_set(e, -EINVAL,
				             "%s: the file must be a map of option: value", where);
				break;
			}
			if (in_seq) {
				if (cur->cmds & cmd)
					rc = set_value(c, cur, v, seq_cleared, where, e);
				seq_cleared = true;
			} else if (!have_key) {
				cur = find_long(v, strlen(v));
				if (!cur) {
					rc = err_set(e, -EINVAL, "%s: unknown option '%s'", where,
					             v);
					break;
				}
				if (!strcmp(cur->name, "config")) {
					rc = err_set(e, -EINVAL,
					             "%s: 'config' cannot be set in a config file",
					             where);
					break;
				}
				have_key = true;
			} else {
				if (cur->cmds & cmd)
					rc = set_value(c, cur, v, false, where, e);
				have_key = false;
			}
			break;
		}
		case YAML_ALIAS_EVENT:
			rc = err_set(e, -EINVAL, "%s: YAML aliases are not supported here", where);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (rc < 0)
			break;
	}
	yaml_parser_delete(&p);
	fclose(f);
	return rc;
}

/* --- flags ----------------------------------------------------------------- */

int config_load(struct tug_config *c, unsigned cmd, int argc, char **argv, bool *help,
                struct err *e)
{
	const char *file = getenv("TUG_CONFIG_FILE");
	bool explicit_file = file != NULL;
	int rc;

	*help = false;
	/* First pass: only --config/-c and --help, so the file loads before the flags. */
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			*help = true;
			return 0;
		}
		if (!strcmp(a, "--"))
			break;
		if ((!strcmp(a, "--config") || !strcmp(a, "-c")) && i + 1 < argc) {
			file = argv[++i];
			explicit_file = true;
		} else if (str_has_prefix(a, "--config=")) {
			file = a + strlen("--config=");
			explicit_file = true;
		}
	}
	if (!file)
		file = CONFIG_DEFAULT_FILE;
	struct stat st;
	if (explicit_file || stat(file, &st) == 0) {
		if ((rc = config_load_file(c, cmd, file, e)) < 0)
			return rc;
		free(c->config_file);
		c->config_file = xstrdup(file);
	}

	/* A list given on the command line replaces the file's list; repeats append. */
	bool replaced[ARRAY_SIZE(opts)] = { false };
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		const struct opt *o = NULL;
		char where[128];

		if (!strcmp(a, "--"))
			return err_set(e, -EINVAL, "unexpected argument '%s'", a);
		if (str_has_prefix(a, "--")) {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			o = find_long(name, len);
			if (!o) {
				/* --no-foo for booleans. */
				if (len > 3 && !strncmp(name, "no-", 3) &&
				    (o = find_long(name + 3, len - 3)) && o->type == OPT_BOOL &&
				    !eq)
					val = "false";
				else
					return err_set(e, -EINVAL,
					               "unknown flag --%.*s (see --help)", (int)len,
					               name);
			}
			if (eq)
				val = eq + 1;
		} else if (a[0] == '-' && a[1] && !a[2]) {
			o = find_short(a[1]);
			if (!o)
				return err_set(e, -EINVAL, "unknown flag %s (see --help)", a);
		} else {
			return err_set(e, -EINVAL, "unexpected argument '%s' (see --help)", a);
		}
		if (!(o->cmds & cmd))
			return err_set(e, -EINVAL, "flag --%s does not apply to this command",
			               o->name);
		if (!val) {
			if (o->type == OPT_BOOL) {
				val = "true";
			} else {
				if (i + 1 >= argc)
					return err_set(e, -EINVAL, "flag --%s needs a value",
					               o->name);
				val = argv[++i];
			}
		}
		if (!strcmp(o->name, "config"))
			continue;
		snprintf(where, sizeof(where), "--%s", o->name);
		size_t idx = (size_t)(o - opts);
		if ((rc = set_value(c, o, val, replaced[idx], where, e)) < 0)
			return rc;
		replaced[idx] = true;
	}
	return 0;
}

/* --- validation -------------------------------------------------------------- */

bool config_valid_ip(const char *s, int *family)
{
	unsigned char buf[16];
	if (inet_pton(AF_INET, s, buf) == 1) {
		if (family)
			*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, buf) == 1) {
		if (family)
			*family = AF_INET6;
		return true;
	}
	return false;
}

bool config_valid_cidr(const char *s, int *family)
{
	char ip[64];
	const char *slash = strchr(s, '/');
	uint64_t bits;
	int fam;

	if (!slash || (size_t)(slash - s) >= sizeof(ip))
		return false;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	if (!config_valid_ip(ip, &fam) || !parse_u64(slash + 1, &bits))
		return false;
	if (bits > (fam == AF_INET ? 32u : 128u))
		return false;
	if (family)
		*family = fam;
	return true;
}

/* One CIDR, or two of different families separated by a comma (dual stack). */
static bool valid_dual_stack_cidrs(const char *s)
{
	const char *comma = strchr(s, ',');
	char first[64];
	int f1, f2;
	if (!comma)
		return config_valid_cidr(s, NULL);
	if ((size_t)(comma - s) >= sizeof(first))
		return false;
	memcpy(first, s, (size_t)(comma - s));
	first[comma - s] = '\0';
	return config_valid_cidr(first, &f1) && config_valid_cidr(comma + 1, &f2) && f1 != f2;
}

/* RFC 1123 subdomain as Kubernetes checks names: lower-case alphanumerics, '-' and '.'. */
bool config_valid_dns1123_subdomain(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
		if (!alnum && ch != '-' && ch != '.')
			return false;
		if ((i == 0 || i == n - 1) && !alnum)
			return false;
		if (ch == '.' && (s[i + 1] == '.' || s[i + 1] == '-' || (i && s[i - 1] == '-')))
			return false;
	}
	return true;
}

int config_validate(const struct tug_config *c, unsigned cmd, struct err *e)
{
	if (c->log_level) {
		static const char *const lv[] = { "error", "warn", "warning", "info", "debug" };
		bool ok = false;
		for (size_t i = 0; i < ARRAY_SIZE(lv); i++)
			ok |= !strcmp(c->log_level, lv[i]);
		if (!ok)
			return err_set(e, -EINVAL,
			               "--log-level: '%s' is not one of error, warn, info, debug",
			               c->log_level);
	}
	if (!(cmd & CFG_NODE))
		return 0;
	if (!c->data_dir || c->data_dir[0] != '/')
		return err_set(e, -EINVAL, "--data-dir: '%s' must be an absolute path",
		               c->data_dir ? c->data_dir : "");
	if (c->volatile_dir && c->volatile_dir[0] && c->volatile_dir[0] != '/')
		return err_set(e, -EINVAL, "--volatile-dir: '%s' must be an absolute path or empty",
		               c->volatile_dir);
	if (c->node_name && !config_valid_dns1123_subdomain(c->node_name))
		return err_set(e, -EINVAL,
		               "--node-name: '%s' must be lower-case letters, digits, '-' and '.', "
		               "start and end with a letter or digit, at most 253 characters",
		               c->node_name);
	for (size_t i = 0; i < c->node_ip.n; i++)
		if (!config_valid_ip(c->node_ip.v[i], NULL))
			return err_set(e, -EINVAL, "--node-ip: '%s' is not an IP address",
			               c->node_ip.v[i]);
	for (size_t i = 0; i < c->node_label.n; i++)
		if (!strchr(c->node_label.v[i], '='))
			return err_set(e, -EINVAL, "--node-label: '%s' is not key=value",
			               c->node_label.v[i]);
	if (c->cluster_dns && !config_valid_ip(c->cluster_dns, NULL))
		return err_set(e, -EINVAL, "--cluster-dns: '%s' is not an IP address",
		               c->cluster_dns);
	if (c->store_retention_revisions < 100)
		return err_set(e, -EINVAL, "--store-retention-revisions: keep at least 100");
	if (c->store_checkpoint_ms < 10 || c->store_checkpoint_ms > 3600000)
		return err_set(e, -EINVAL,
		               "--store-checkpoint-interval: must be between 10ms and 1h");
	if (c->node_lease_ms < 1000)
		return err_set(e, -EINVAL, "--node-lease-interval: must be at least 1s");
	if (cmd & CFG_SERVER) {
		if (c->node_monitor_period_ms < 100 || c->node_monitor_period_ms > 3600000)
			return err_set(e, -EINVAL,
			               "--node-monitor-period: must be between 100ms and 1h");
		if (c->node_monitor_grace_ms < c->node_monitor_period_ms)
			return err_set(e, -EINVAL,
			               "--node-monitor-grace-period: must be at least "
			               "--node-monitor-period");
		/* 0 lets the kernel pick a free port (tests); the kubeconfig names it. */
		if (c->https_listen_port < 0 || c->https_listen_port > 65535)
			return err_set(e, -EINVAL,
			               "--https-listen-port: %lld is not a port (0-65535)",
			               (long long)c->https_listen_port);
		if (!config_valid_ip(c->bind_address, NULL))
			return err_set(e, -EINVAL, "--bind-address: '%s' is not an IP address",
			               c->bind_address);
		if (c->advertise_address && !config_valid_ip(c->advertise_address, NULL))
			return err_set(e, -EINVAL, "--advertise-address: '%s' is not an IP address",
			               c->advertise_address);
		if (!valid_dual_stack_cidrs(c->cluster_cidr))
			return err_set(
			    e, -EINVAL,
			    "--cluster-cidr: '%s' is not a CIDR (like 10.42.0.0/16) or an "
			    "IPv4 and an IPv6 CIDR separated by a comma (dual stack)",
			    c->cluster_cidr);
		if (!config_valid_cidr(c->service_cidr, NULL))
			return err_set(e, -EINVAL,
			               "--service-cidr: '%s' is not a CIDR (like 10.43.0.0/16)",
			               c->service_cidr);
		uint64_t mode;
		const char *m = c->write_kubeconfig_mode;
		bool octal = m && *m;
		for (const char *p = m; octal && *p; p++)
			octal = *p >= '0' && *p <= '7';
		if (!octal || strlen(m) > 4 || !parse_u64(m, &mode))
			return err_set(
			    e, -EINVAL,
			    "--write-kubeconfig-mode: '%s' is not an octal mode like 0600",
			    m ? m : "");
	}
	if ((cmd & CFG_AGENT) && !(cmd & CFG_SERVER)) {
		if (!c->server || !str_has_prefix(c->server, "https://"))
			return err_set(e, -EINVAL,
			               "--server: an agent needs the server's https:// URL");
		if (!c->token || !*c->token)
			return err_set(e, -EINVAL, "--token: an agent needs a join token");
	}
	return 0;
}

void config_usage(FILE *out, unsigned cmd)
{
	fprintf(out, "Options (also keys of %s; flags win):\n", CONFIG_DEFAULT_FILE);
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
		const struct opt *o = &opts[i];
		char lhs[96];
		if (!(o->cmds & cmd))
			continue;
		if (o->short_name)
			snprintf(lhs, sizeof(lhs), "-%c, --%s%s%s", o->short_name, o->name,
			         o->metavar ? " " : "", o->metavar ? o->metavar : "");
		else
			snprintf(lhs, sizeof(lhs), "    --%s%s%s", o->name, o->metavar ? " " : "",
			         o->metavar ? o->metavar : "");
		fprintf(out, "  %-40s %s", lhs, o->help);
		if (o->def && o->type != OPT_BOOL)
			fprintf(out, " (default %s)", o->def[0] ? o->def : "\"\"");
		fputc('\n', out);
	}
}
