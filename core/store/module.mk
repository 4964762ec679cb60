obj-y += core/store/store.o core/store/wal.o core/store/mem.o core/store/db.o
libs-y += -llmdb
test-y += test/unit/store_test.c test/unit/store_crash_test.c
