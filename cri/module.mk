# cri: the CRI client and containerd supervision (with the kubelet).
proto-$(CONFIG_TUG_KUBELET) += cri/runtime.proto
obj-$(CONFIG_TUG_KUBELET) += cri/client.o cri/containerd.o cri/runtime.o
