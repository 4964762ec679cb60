obj-y += core/loop/loop.o
test-y += test/unit/loop_test.c
