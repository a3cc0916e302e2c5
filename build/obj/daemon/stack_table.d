build/obj/daemon/stack_table.o: daemon/stack_table.c daemon/stack_table.h
daemon/stack_table.h:
