obj-$(CONFIG_TUG_CONTROL_PLANE) += core/registry/registry.o core/registry/json.o \
	core/registry/validate.o core/registry/print.o \
	core/registry/podspec.o core/registry/pod.o core/registry/core.o \
	core/registry/service.o core/registry/event.o core/registry/apps.o \
	core/registry/batch.o core/registry/rbac.o core/registry/lease.o core/registry/csr.o
libs-y += -lcjson
test-$(CONFIG_TUG_CONTROL_PLANE) += test/unit/registry_test.c test/unit/registry_validate_test.c \
	test/unit/registry_print_test.c
