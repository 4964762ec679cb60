/* client: the CRI RuntimeService and ImageService calls, one typed wrapper per method over
 * the generic gRPC channel. */
#include <errno.h>
#include <string.h>

#define LOG_TAG "cri"
#include "core/log/log.h"
#include "cri/cri.h"

struct cri {
	struct grpc_chan *ch;
};

int cri_new(struct loop *l, const char *endpoint, struct cri **out, struct err *e)
{
	struct cri *c = xcalloc(1, sizeof(*c));
	struct grpc_chan_opts o = { .target = endpoint,
		                    .backoff_min_ms = 100,
		                    .backoff_max_ms = 5000 };
	int r = grpc_chan_new(l, &o, &c->ch, e);
	if (r < 0) {
		free(c);
		return err_wrap(e, "CRI runtime endpoint");
	}
	*out = c;
	return 0;
}

void cri_free(struct cri *c)
{
	if (!c)
		return;
	grpc_chan_free(c->ch);
	free(c);
}

bool cri_ready(const struct cri *c)
{
	return grpc_chan_state(c->ch) == GRPC_READY;
}

uint64_t cri_connects(const struct cri *c)
{
	return grpc_chan_connects(c->ch);
}

struct grpc_chan *cri_chan(struct cri *c)
{
	return c->ch;
}

void cri_free_msg(void *resp)
{
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
}

static int call_sync(struct cri *c, const char *path, const ProtobufCMessage *req,
                     const ProtobufCMessageDescriptor *resp_desc, uint64_t timeout_ms, void **resp,
                     struct err *e)
{
	ProtobufCMessage *m = NULL;
	int r = grpc_unary_sync(c->ch, path, req, resp_desc,
	                        timeout_ms ? timeout_ms : CRI_DEFAULT_TIMEOUT_MS, 0, &m, NULL, e);
	*resp = m;
	return r;
}

/*
 * Each method gets a small struct and trampoline that carry its typed callback through
 * grpc_unary's untyped one. Reply descriptors follow protobuf-c's naming, which matches
 * the method's snake-case name: run_pod_sandbox -> runtime__v1__run_pod_sandbox_response.
 */
#define CRI_DEFINE(name, svc, method, Req, Resp)                                                   \
	struct name##_call {                                                                       \
		cri_##name##_fn fn;                                                                \
		void *arg;                                                                         \
	};                                                                                         \
	static void name##_done(int code, const char *msg, ProtobufCMessage *resp, void *arg)      \
	{                                                                                          \
		struct name##_call t = *(struct name##_call *)arg;                                 \
		free(arg);                                                                         \
		t.fn(code, msg, (const Runtime__V1__##Resp *)resp, t.arg);                         \
	}                                                                                          \
	int cri_##name(struct cri *c, const Runtime__V1__##Req *req, uint64_t timeout_ms,          \
	               unsigned flags, cri_##name##_fn fn, void *arg)                              \
	{                                                                                          \
		struct name##_call *t = xmalloc(sizeof(*t));                                       \
		t->fn = fn;                                                                        \
		t->arg = arg;                                                                      \
		int r = grpc_unary(c->ch, "/runtime.v1." #svc "/" #method, &req->base,             \
		                   &runtime__v1__##name##_response__descriptor,                    \
		                   timeout_ms ? timeout_ms : CRI_DEFAULT_TIMEOUT_MS, flags,        \
		                   name##_done, t, NULL);                                          \
		if (r < 0)                                                                         \
			free(t);                                                                   \
		return r;                                                                          \
	}                                                                                          \
	int cri_##name##_wait(struct cri *c, const Runtime__V1__##Req *req, uint64_t timeout_ms,   \
	                      Runtime__V1__##Resp **resp, struct err *e)                           \
	{                                                                                          \
		void *m = NULL;                                                                    \
		int r = call_sync(c, "/runtime.v1." #svc "/" #method, &req->base,                  \
		                  &runtime__v1__##name##_response__descriptor, timeout_ms, &m, e); \
		*resp = m;                                                                         \
		return r;                                                                          \
	}

CRI_METHODS(CRI_DEFINE)
