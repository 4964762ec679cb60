/* main: one binary, many names. Called as tug-cni (or as loopback, the name containerd runs
 * for a pod's lo) it is the CNI plugin; otherwise the CLI. */
#include <string.h>

#include "config.h"
#include "core/cli/cli.h"
#ifdef CONFIG_TUG_CNI
#include "net/cni/cni.h"
#endif

int main(int argc, char **argv)
{
	const char *name = argc > 0 && argv[0] ? argv[0] : "tug";
	const char *slash = strrchr(name, '/');
	if (slash)
		name = slash + 1;
#ifdef CONFIG_TUG_CNI
	if (strcmp(name, "tug-cni") == 0 || strcmp(name, "loopback") == 0)
		return cni_main(argc, argv);
#endif
	return cli_main(argc, argv);
}
