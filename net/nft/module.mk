obj-$(CONFIG_TUG_CNI) += net/nft/nft.o
