obj-$(CONFIG_TUG_KUBELET) += core/kubelet/node.o
test-$(CONFIG_TUG_KUBELET) += test/unit/kubelet_node_test.c
