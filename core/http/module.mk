obj-y += core/http/server.o core/http/parse.o core/http/arena.o
obj-$(CONFIG_TUG_TLS) += core/http/tls.o
libs-$(CONFIG_TUG_TLS) += -lmbedtls -lmbedx509 -lmbedcrypto
test-y += test/unit/http_test.c
