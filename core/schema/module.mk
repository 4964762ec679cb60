obj-$(CONFIG_TUG_CONTROL_PLANE) += core/schema/model.o core/schema/openapi.o core/schema/pb.o \
                                 core/schema/check.o core/schema/proto.o
libs-y += -lcjson
test-$(CONFIG_TUG_CONTROL_PLANE) += test/unit/schema_test.c test/unit/schema_proto_test.c

# The type table is compiled in as one string literal, made from types.def line by line
# (comment lines are emptied; line numbers stay right for error messages).
$(O)/include/schema-def.inc: core/schema/types.def core/schema/module.mk
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	$(Q)sed -e 's/^#.*//' -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $< > $@.tmp && mv $@.tmp $@
$(O)/core/schema/model.o: $(O)/include/schema-def.inc
