obj-y += core/log/log.o
