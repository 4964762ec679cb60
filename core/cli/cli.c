/* cli: subcommand dispatch, --help, and the server/agent process lifecycle. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "config.h"
#include "core/cli/cli.h"
#include "core/cli/node.h"
#include "core/config/config.h"
#define LOG_TAG "tug"
#include "core/log/log.h"

struct subcommand {
	const char *name;
	unsigned cfg; /* CFG_* mask of options it takes; 0: no options */
	int (*run)(const char *name, int argc, char **argv);
	const char *summary;
};

static int run_version(const char *name, int argc, char **argv);
static int run_node(const char *name, int argc, char **argv);
static int run_check_config(const char *name, int argc, char **argv);
static int run_help(const char *name, int argc, char **argv);

static const struct subcommand cmds[] = {
	{ "server", CFG_SERVER, run_node, "Run the control plane and, unless disabled, a node" },
	{ "agent", CFG_AGENT, run_node, "Run a node that joins a server" },
	{ "check-config", CFG_CHECK, run_check_config, "Check the kernel for what a node needs" },
	{ "version", 0, run_version, "Print the version" },
	{ "help", 0, run_help, "Show help" },
};

static void usage(FILE *out)
{
	fprintf(out, "tug: Kubernetes for small boards, in one binary.\n\n"
	             "Usage: tug <command> [options]\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		fprintf(out, "  %-14s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(out, "\nRun 'tug <command> --help' for a command's options.\n"
	             "Called as tug-cni, the binary is the CNI plugin.\n");
}

static const char *features(void)
{
	return ""
#ifdef CONFIG_TUG_CONTROL_PLANE
	       " control-plane"
#endif
#ifdef CONFIG_TUG_KUBELET
	       " kubelet"
#endif
#ifdef CONFIG_TUG_CNI
	       " cni"
#endif
#ifdef CONFIG_TUG_PROXY
	       " proxy"
#endif
#ifdef CONFIG_TUG_DNS
	       " dns"
#endif
#ifdef CONFIG_TUG_TLS
	       " tls"
#endif
#ifdef CONFIG_TUG_PEER
	       " peer"
#endif
	    ;
}

static int run_version(const char *name, int argc, char **argv)
{
	struct utsname u;
	uname(&u);
	printf("tug version v%s (%s)\n", TUG_VERSION, TUG_COMMIT);
	printf("board %s, built for %s, running on %s %s\n", CONFIG_TUG_BOARD,
#if defined(__aarch64__)
	       "arm64",
#elif defined(__arm__)
	       "arm",
#elif defined(__x86_64__)
	       "amd64",
#else
	       "unknown",
#endif
	       u.sysname, u.machine);
	printf("features:%s\n", features());
	return 0;
}

static int run_help(const char *name, int argc, char **argv)
{
	usage(stdout);
	return 0;
}

static int run_check_config(const char *name, int argc, char **argv)
{
	return cli_check_config(argc, argv);
}

static int run_node(const char *name, int argc, char **argv)
{
	unsigned cmd = !strcmp(name, "server") ? CFG_SERVER : CFG_AGENT;
#ifndef CONFIG_TUG_CONTROL_PLANE
	if (cmd == CFG_SERVER) {
		fprintf(stderr, "tug server: this build has no control plane "
		                "(CONFIG_TUG_CONTROL_PLANE is off); run 'tug agent'\n");
		return 2;
	}
#endif
	struct tug_config cfg;
	struct err e = { 0 };
	bool help;
	int rc;

	config_defaults(&cfg);
	if (config_load(&cfg, cmd, argc, argv, &help, &e) < 0 ||
	    (!help && config_validate(&cfg, cmd, &e) < 0)) {
		fprintf(stderr, "tug %s: %s\n", name, e.msg);
		config_free(&cfg);
		return 2;
	}
	if (help) {
		printf("Usage: tug %s [options]\n\n", name);
		config_usage(stdout, cmd);
		config_free(&cfg);
		return 0;
	}
	enum log_level lvl = LOG_LVL_INFO;
	log_parse_level(cfg.log_level, &lvl);
	if (cfg.debug)
		lvl = LOG_LVL_DEBUG;
	log_set_level(lvl);
	if (cfg.config_file)
		log_info("options from %s", cfg.config_file);
	rc = node_run(&cfg, cmd == CFG_SERVER);
	config_free(&cfg);
	return rc;
}

int cli_main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h"))
		return run_help(name, 0, NULL);
	if (!strcmp(name, "--version") || !strcmp(name, "-v"))
		return run_version(name, 0, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (strcmp(cmds[i].name, name) != 0)
			continue;
		if (!cmds[i].cfg && argc > 2) {
			if (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h")) {
				printf("Usage: tug %s\n\n%s.\n", name, cmds[i].summary);
				return 0;
			}
			fprintf(stderr, "tug %s: unexpected argument '%s'\n", name, argv[2]);
			return 2;
		}
		return cmds[i].run(name, argc - 2, argv + 2);
	}
	fprintf(stderr, "tug: unknown command '%s'\n\n", name);
	usage(stderr);
	return 2;
}
