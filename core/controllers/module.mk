obj-$(CONFIG_TUG_CONTROL_PLANE) += core/controllers/shared.o core/controllers/endpointslice.o \
	core/controllers/endpoints.o core/controllers/nodelifecycle.o core/controllers/nodeipam.o \
	core/controllers/namespace.o core/controllers/gc.o core/controllers/serviceaccount.o \
	core/controllers/resourcequota.o core/controllers/cluster.o
test-$(CONFIG_TUG_CONTROL_PLANE) += test/unit/controllers_endpoints_test.c \
	test/unit/controllers_nodelifecycle_test.c test/unit/controllers_nodeipam_test.c \
	test/unit/controllers_namespace_test.c test/unit/controllers_gc_test.c \
	test/unit/controllers_serviceaccount_test.c test/unit/controllers_resourcequota_test.c \
	test/unit/controllers_cluster_test.c
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
