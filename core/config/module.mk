obj-y += core/config/config.o
libs-y += -lyaml
test-y += test/unit/config_test.c
