/* tug-cni's own entry point. The tug binary also runs the plugin when called by that name,
 * but the runtime starts the plugin for every pod and verb, and this executable loads only
 * libc, libmnl and cJSON instead of all of tug's libraries. */
#include "net/cni/cni.h"

int main(int argc, char **argv)
{
	return cni_main(argc, argv);
}
