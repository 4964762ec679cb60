/* grpc: gRPC client channels over HTTP/2 (nghttp2) on the event loop: any service and method,
 * unary and streaming calls, a deadline per call, reconnection with back-off. */
#ifndef TUG_GRPC_H
#define TUG_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "core/loop/loop.h"
#include "core/util/util.h"

/* gRPC status codes, as on the wire in grpc-status. */
enum grpc_code {
	GRPC_OK = 0,
	GRPC_CANCELLED = 1,
	GRPC_UNKNOWN = 2,
	GRPC_INVALID_ARGUMENT = 3,
	GRPC_DEADLINE_EXCEEDED = 4,
	GRPC_NOT_FOUND = 5,
	GRPC_ALREADY_EXISTS = 6,
	GRPC_PERMISSION_DENIED = 7,
	GRPC_RESOURCE_EXHAUSTED = 8,
	GRPC_FAILED_PRECONDITION = 9,
	GRPC_ABORTED = 10,
	GRPC_OUT_OF_RANGE = 11,
	GRPC_UNIMPLEMENTED = 12,
	GRPC_INTERNAL = 13,
	GRPC_UNAVAILABLE = 14,
	GRPC_DATA_LOSS = 15,
	GRPC_UNAUTHENTICATED = 16,
};

/* "DEADLINE_EXCEEDED" for 4; "CODE_<n>" for codes outside the table. */
const char *grpc_code_name(int code);
/* A negative errno for a status (NOT_FOUND: -ENOENT, DEADLINE_EXCEEDED: -ETIMEDOUT,
 * UNAVAILABLE: -ECONNREFUSED, ...; -EIO when nothing fits), 0 for GRPC_OK. */
int grpc_code_errno(int code);

struct grpc_chan;
struct grpc_call;

enum grpc_state {
	GRPC_CONNECTING, /* a connection attempt is under way */
	GRPC_READY,      /* connected; calls go out at once */
	GRPC_BACKOFF,    /* the last attempt failed or the peer went away; retrying later */
};

struct grpc_chan_opts {
	/*
	 * Where to connect: "unix:/path", "unix:///path", "/path" (a unix socket), or
	 * "host:port", "tcp://host:port", "[v6addr]:port". Names are resolved once, when the
	 * channel is made.
	 */
	const char *target;
	/* The :authority of requests; default "localhost" for unix sockets, else host:port. */
	const char *authority;
	/* Reconnect back-off: starts at min, doubles (with jitter) up to max.
	 * Defaults 100 ms and 5 s. */
	uint64_t backoff_min_ms, backoff_max_ms;
	/* A connection attempt that has not completed by then is abandoned. Default 5 s. */
	uint64_t connect_timeout_ms;
	/* Largest message accepted from the peer; default 16 MiB. */
	size_t max_recv_msg;
	/* Optional: told of every state change. */
	void (*on_state)(struct grpc_chan *ch, enum grpc_state st, void *arg);
	void *arg;
};

/* Makes a channel and starts connecting. The channel reconnects by itself, with back-off,
 * whenever the connection fails, until grpc_chan_free. */
int grpc_chan_new(struct loop *l, const struct grpc_chan_opts *o, struct grpc_chan **out,
                  struct err *e);
/* Closes the connection. Calls still running end with GRPC_CANCELLED (their on_done
 * runs; calls they try to start fail with -ESHUTDOWN). Not to be called from inside a
 * callback of this channel's calls. */
void grpc_chan_free(struct grpc_chan *ch);
enum grpc_state grpc_chan_state(const struct grpc_chan *ch);
/* Successful connections so far (tests use it to see a reconnect). */
uint64_t grpc_chan_connects(const struct grpc_chan *ch);
struct loop *grpc_chan_loop(const struct grpc_chan *ch);

/* One message received on a call (for unary calls too). The bytes belong to the channel
 * and are valid during the callback. The callback may cancel the call. */
typedef void (*grpc_msg_fn)(struct grpc_call *c, const uint8_t *msg, size_t len, void *arg);
/*
 * Called exactly once when a call ends, unless the owner cancelled it: code is a gRPC
 * status (GRPC_OK when the server said so), msg its message ("" when none). Errors of our
 * own (deadline, lost connection, malformed replies) come as the matching status.
 * The call is freed when this returns.
 */
typedef void (*grpc_done_fn)(struct grpc_call *c, int code, const char *msg, void *arg);

enum {
	/* Wait through connection failures (until the deadline) instead of failing at once
	 * with GRPC_UNAVAILABLE while the channel is backing off. */
	GRPC_WAIT_FOR_READY = 1 << 0,
};

struct grpc_call_opts {
	uint64_t timeout_ms; /* 0: no deadline */
	unsigned flags;      /* GRPC_WAIT_FOR_READY */
	/* Extra request metadata: name, value, name, value, ..., NULL (copied). Names are
	 * lowercase, as HTTP/2 wants: "containerd-namespace", "k8s.io". */
	const char *const *metadata;
	grpc_msg_fn on_msg; /* optional */
	grpc_done_fn on_done;
	void *arg;
};

/*
 * Starts a call of method path ("/package.Service/Method"). Messages are then queued
 * with grpc_call_send and the request side is ended with grpc_call_close_send; a unary
 * call is one send and a close. *out may be NULL. Fails only on bad arguments (-EINVAL)
 * or a channel being freed (-ESHUTDOWN); every other failure arrives through on_done.
 */
int grpc_call_start(struct grpc_chan *ch, const char *path, const struct grpc_call_opts *o,
                    struct grpc_call **out);
/* Queues one message (raw protobuf bytes, framed here). */
int grpc_call_send(struct grpc_call *c, const void *msg, size_t len);
/* Packs and queues a protobuf-c message. */
int grpc_call_send_msg(struct grpc_call *c, const ProtobufCMessage *m);
/* Ends the request side (half-close); the response side goes on. */
int grpc_call_close_send(struct grpc_call *c);
/* Ends a call now (RST_STREAM CANCEL to the peer). on_done is not called. */
void grpc_call_cancel(struct grpc_call *c);

/*
 * A unary call with protobuf-c messages: req is packed and sent, the one reply is
 * unpacked with resp_desc. fn gets the reply (NULL unless code is GRPC_OK), which is
 * freed when fn returns.
 */
typedef void (*grpc_unary_fn)(int code, const char *msg, ProtobufCMessage *resp, void *arg);
int grpc_unary(struct grpc_chan *ch, const char *path, const ProtobufCMessage *req,
               const ProtobufCMessageDescriptor *resp_desc, uint64_t timeout_ms, unsigned flags,
               grpc_unary_fn fn, void *arg, struct grpc_call **out);
/* The same with request metadata (see grpc_call_opts.metadata). */
int grpc_unary_md(struct grpc_chan *ch, const char *path, const char *const *metadata,
                  const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                  uint64_t timeout_ms, unsigned flags, grpc_unary_fn fn, void *arg,
                  struct grpc_call **out);

/*
 * For tools and tests only (it runs the loop until the call ends, so nothing else may
 * be waiting on that loop for long): a blocking unary call. On success *resp is a new
 * message the caller frees with protobuf_c_message_free_unpacked. On failure returns
 * grpc_code_errno(code), sets *code if given, and says "<path>: <CODE>: <message>".
 */
int grpc_unary_sync(struct grpc_chan *ch, const char *path, const ProtobufCMessage *req,
                    const ProtobufCMessageDescriptor *resp_desc, uint64_t timeout_ms,
                    unsigned flags, ProtobufCMessage **resp, int *code, struct err *e);

#endif
