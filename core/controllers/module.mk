obj-$(CONFIG_TUG_CONTROL_PLANE) += core/controllers/shared.o core/controllers/endpointslice.o \
	core/controllers/endpoints.o
test-$(CONFIG_TUG_CONTROL_PLANE) += test/unit/controllers_endpoints_test.c
