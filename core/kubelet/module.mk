obj-$(CONFIG_TUG_KUBELET) += core/kubelet/node.o core/kubelet/kubelet.o core/kubelet/pod.o \
	core/kubelet/config.o core/kubelet/spec.o core/kubelet/volume.o core/kubelet/probe.o \
	core/kubelet/status.o core/kubelet/logs.o core/kubelet/network.o
test-$(CONFIG_TUG_KUBELET) += test/unit/kubelet_node_test.c test/unit/kubelet_spec_test.c
