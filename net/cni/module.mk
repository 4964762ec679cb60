obj-$(CONFIG_TUG_CNI) += net/cni/conf.o net/cni/link.o net/cni/plugin.o net/cni/hostport.o
libs-$(CONFIG_TUG_CNI) += -lcjson
test-$(CONFIG_TUG_CNI) += test/unit/cni_test.c
# The small tug-cni executable: what the plugin's objects need, and nothing else.
cni-main-$(CONFIG_TUG_CNI) += net/cni/main.o
cni-libs-$(CONFIG_TUG_CNI) += -l:libnftnl.a -lmnl -lcjson
