obj-$(CONFIG_TUG_CONTROL_PLANE) += core/api/meta.o core/api/engine.o core/api/write.o \
	core/api/admit.o core/api/watch.o core/api/bootstrap.o core/api/rest.o \
	core/api/discovery.o core/api/table.o core/api/quota.o
libs-y += -lcjson
test-$(CONFIG_TUG_CONTROL_PLANE) += test/unit/api_test.c
