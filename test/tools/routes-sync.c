/* routes-sync: feeds net/routes one node list, as the agent will from its Node watch, so that
 * tests can drive a sync in a network namespace.
 *
 *   routes-sync [--self NAME] [--cluster-cidr CIDR]... [--masquerade] [--nft-table T]
 *               [--flush] [NAME=CIDR[,CIDR]@IP[,IP]]...
 *
 * Prints "routes R added A deleted D skipped S"; on an error prints it and exits 1. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "net/routes/routes.h"

static int split(char *s, const char **out, size_t max)
{
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (n == max)
			return -1;
		out[n++] = t;
	}
	return (int)n;
}

int main(int argc, char **argv)
{
	struct routes_conf c = { 0 };
	struct routes_node nodes[64];
	struct routes_stats st = { 0 };
	struct routes *r = NULL;
	struct err e = { 0 };
	bool flush = false;
	size_t n = 0;
	int opt, rc;
	static const struct option opts[] = {
		{ "self", 1, NULL, 's' },       { "cluster-cidr", 1, NULL, 'c' },
		{ "masquerade", 0, NULL, 'm' }, { "nft-table", 1, NULL, 't' },
		{ "flush", 0, NULL, 'f' },      { NULL, 0, NULL, 0 }
	};

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			c.self = optarg;
			break;
		case 'c':
			if (c.n_cluster_cidrs == ROUTES_MAX_CLUSTER_CIDRS)
				return 2;
			c.cluster_cidrs[c.n_cluster_cidrs++] = optarg;
			break;
		case 'm':
			c.masquerade = true;
			break;
		case 't':
			c.nft_table = optarg;
			break;
		case 'f':
			flush = true;
			break;
		default:
			return 2;
		}
	}
	for (int i = optind; i < argc && n < ARRAY_SIZE(nodes); i++, n++) {
		char *eq = strchr(argv[i], '='), *at = eq ? strchr(eq, '@') : NULL;
		memset(&nodes[n], 0, sizeof(nodes[n]));
		if (!eq || !at) {
			fprintf(stderr, "node '%s' is not NAME=CIDR[,CIDR]@IP[,IP]\n", argv[i]);
			return 2;
		}
		*eq = *at = '\0';
		nodes[n].name = argv[i];
		int k = split(eq + 1, nodes[n].pod_cidrs, ROUTES_MAX_CIDRS);
		int j = split(at + 1, nodes[n].internal_ips, ROUTES_MAX_CIDRS);
		if (k < 0 || j < 0)
			return 2;
		nodes[n].n_pod_cidrs = (size_t)k;
		nodes[n].n_internal_ips = (size_t)j;
	}
	if ((rc = routes_new(&r, &c, &e)) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	rc = flush ? routes_flush(r, &e) : routes_sync(r, nodes, n, &st, &e);
	printf("routes %zu added %zu deleted %zu skipped %zu\n", st.routes, st.added, st.deleted,
	       st.skipped);
	if (rc < 0)
		fprintf(stderr, "%s\n", e.msg);
	routes_free(r);
	return rc < 0 ? 1 : 0;
}
