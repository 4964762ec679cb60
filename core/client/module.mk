obj-$(CONFIG_TUG_CONTROL_PLANE) += core/client/client.o core/client/informer.o core/client/workqueue.o \
	core/client/event.o
test-$(CONFIG_TUG_CONTROL_PLANE) += test/unit/client_test.c
