obj-$(CONFIG_TUG_CNI) += net/cni/conf.o net/cni/link.o net/cni/plugin.o
libs-$(CONFIG_TUG_CNI) += -lcjson
test-$(CONFIG_TUG_CNI) += test/unit/cni_test.c
