obj-$(CONFIG_TUG_CONTROL_PLANE) += core/controllers/shared.o
