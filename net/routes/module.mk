obj-$(CONFIG_TUG_CNI) += net/routes/routes.o
