# cri: the CRI client and containerd supervision (with the kubelet).
proto-$(CONFIG_TUG_KUBELET) += cri/runtime.proto cri/containerd.proto
obj-$(CONFIG_TUG_KUBELET) += cri/client.o cri/containerd.o cri/runtime.o cri/import.o cri/mirror.o
CFLAGS_cri_runtime := -DTUG_IMAGES_DIR='"$(PREFIX)/lib/tug/images"'
