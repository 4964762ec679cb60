obj-y += net/rtnl/rtnl.o
libs-y += -lmnl
