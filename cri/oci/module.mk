# oci: OCI image-layout tarballs (tar, JSON, sha256).
obj-$(CONFIG_TUG_KUBELET) += cri/oci/oci.o cri/oci/archive.o cri/oci/store.o
test-$(CONFIG_TUG_KUBELET) += test/unit/oci_test.c
libs-$(CONFIG_TUG_KUBELET) += -lmbedcrypto -lcjson
