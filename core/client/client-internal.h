/* client internals. */
#ifndef TUG_CLIENT_INTERNAL_H
#define TUG_CLIENT_INTERNAL_H

#include "core/client/client.h"

struct client {
	struct api *api;
	struct loop *loop;
	char *user_name;
	struct api_user user;
};

#endif
