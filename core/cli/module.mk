obj-y += core/cli/cli.o core/cli/node.o core/cli/checkconfig.o
libs-y += -lmnl
