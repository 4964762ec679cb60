obj-$(CONFIG_TUG_CNI) += net/masq/masq.o
libs-$(CONFIG_TUG_CNI) += -l:libnftnl.a -lmnl
