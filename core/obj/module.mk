obj-y += core/obj/json.o core/obj/meta.o core/obj/selector.o core/obj/fieldsel.o \
         core/obj/quantity.o core/obj/pod.o
libs-y += -lcjson -lyaml
test-y += test/unit/obj_test.c test/unit/selector_test.c test/unit/quantity_test.c
