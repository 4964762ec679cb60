obj-y += core/http/server.o core/http/parse.o core/http/arena.o
test-y += test/unit/http_test.c
