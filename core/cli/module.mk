obj-y += core/cli/cli.o core/cli/node.o core/cli/checkconfig.o
libs-y += -lmnl
# The HTTPS API endpoint: only a control plane with TLS serves one.
ifeq ($(CONFIG_TUG_CONTROL_PLANE)$(CONFIG_TUG_TLS),yy)
obj-y += core/cli/serve.o
endif
