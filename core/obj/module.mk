obj-y += core/obj/json.o core/obj/meta.o core/obj/selector.o core/obj/fieldsel.o \
         core/obj/quantity.o core/obj/pod.o core/obj/yaml.o \
         core/obj/schema.o core/obj/jsonpatch.o core/obj/smpatch.o \
         core/obj/fieldset.o core/obj/apply.o
libs-y += -lcjson -lyaml -lm
test-y += test/unit/obj_test.c test/unit/selector_test.c test/unit/quantity_test.c \
          test/unit/yaml_test.c test/unit/patch_test.c \
          test/unit/apply_test.c
