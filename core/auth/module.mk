# The PKI needs mbedtls; without TLS there are no certificates to make.
obj-$(CONFIG_TUG_TLS) += core/auth/pki.o core/auth/kubeconfig.o
libs-$(CONFIG_TUG_TLS) += -lmbedtls -lmbedx509 -lmbedcrypto
test-$(CONFIG_TUG_TLS) += test/unit/auth_test.c
