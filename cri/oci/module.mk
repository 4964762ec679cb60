# oci: OCI image-layout tarballs (tar, JSON, sha256).
obj-$(CONFIG_TUG_KUBELET) += cri/oci/oci.o
libs-$(CONFIG_TUG_KUBELET) += -lmbedcrypto -lcjson
