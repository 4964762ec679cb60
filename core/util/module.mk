obj-y += core/util/err.o core/util/mem.o core/util/buf.o core/util/time.o core/util/file.o \
         core/util/str.o core/util/crc32c.o core/util/strmap.o core/util/net.o
test-y += test/unit/util_test.c
