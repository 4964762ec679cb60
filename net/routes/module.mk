obj-$(CONFIG_TUG_CNI) += net/routes/routes.o
# The Node watch needs the in-process API client, which only the control plane has so far.
ifeq ($(CONFIG_TUG_CONTROL_PLANE),y)
obj-$(CONFIG_TUG_CNI) += net/routes/watch.o
endif
