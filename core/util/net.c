/* net: facts about this host's network that several components want. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "core/util/util.h"

/* The address of the interface holding the default route, else the first global one. */
char *net_default_ipv4(void)
{
	char *route = NULL, ifname[IF_NAMESIZE + 1] = "";
	if (read_file("/proc/net/route", &route, NULL, 1 << 16) == 0) {
		char *line = strchr(route, '\n');
		while (line && *++line) {
			char dev[32];
			unsigned long dst;
			if (sscanf(line, "%31s %lx", dev, &dst) == 2 && dst == 0) {
				snprintf(ifname, sizeof(ifname), "%.16s", dev);
				break;
			}
			line = strchr(line, '\n');
		}
		free(route);
	}
	struct ifaddrs *ifs, *i;
	char buf[INET6_ADDRSTRLEN], *best = NULL;
	if (getifaddrs(&ifs) < 0)
		return xstrdup("127.0.0.1");
	for (i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    (i->ifa_flags & IFF_LOOPBACK))
			continue;
		inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, buf,
		          sizeof(buf));
		if (ifname[0] && !strcmp(i->ifa_name, ifname)) {
			free(best);
			best = xstrdup(buf);
			break;
		}
		if (!best)
			best = xstrdup(buf);
	}
	freeifaddrs(ifs);
	return best ? best : xstrdup("127.0.0.1");
}
