obj-$(CONFIG_TUG_CNI) += net/ipam/ipam.o
test-$(CONFIG_TUG_CNI) += test/unit/ipam_test.c
