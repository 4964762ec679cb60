main-y += core/main/main.o
