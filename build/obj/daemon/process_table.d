build/obj/daemon/process_table.o: daemon/process_table.c \
 daemon/process_table.h daemon/proc_maps.h
daemon/process_table.h:
daemon/proc_maps.h:
