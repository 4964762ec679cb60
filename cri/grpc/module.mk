# grpc: generic gRPC client channels (HTTP/2 via nghttp2, messages via protobuf-c). Always
# built: small, and tools (test/tools/etcd_load) use it without the kubelet.
obj-y += cri/grpc/grpc.o
libs-y += -lnghttp2 -lprotobuf-c
test-y += test/unit/grpc_test.c
test-proto-grpc_test := test/unit/grpc_test.proto
tool-proto-etcd_load := test/tools/etcd.proto
