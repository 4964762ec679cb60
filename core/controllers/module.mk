# Workload controllers (replicaset, deployment, daemonset, statefulset, job, cronjob).
obj-$(CONFIG_TUG_CONTROL_PLANE) += core/controllers/workloads.o core/controllers/wlutil.o \
	core/controllers/replicaset.o core/controllers/deployment.o \
	core/controllers/daemonset.o core/controllers/statefulset.o \
	core/controllers/job.o core/controllers/cronjob.o core/controllers/cron.o
libs-y += -lm
test-$(CONFIG_TUG_CONTROL_PLANE) += test/unit/controllers_replicaset_test.c \
	test/unit/controllers_deployment_test.c test/unit/controllers_daemonset_test.c \
	test/unit/controllers_statefulset_test.c test/unit/controllers_job_test.c \
	test/unit/controllers_cronjob_test.c
