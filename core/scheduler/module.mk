obj-$(CONFIG_TUG_CONTROL_PLANE) += core/scheduler/scheduler.o core/scheduler/cache.o \
	core/scheduler/queue.o core/scheduler/filter.o core/scheduler/score.o core/scheduler/index.o
test-$(CONFIG_TUG_CONTROL_PLANE) += test/unit/scheduler_test.c test/unit/scheduler_flow_test.c
