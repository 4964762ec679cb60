obj-y += net/ipaddr/ipaddr.o
test-y += test/unit/ipaddr_test.c
