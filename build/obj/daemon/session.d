build/obj/daemon/session.o: daemon/session.c daemon/session.h \
 include/cprof_record.h daemon/process_table.h daemon/proc_maps.h \
 daemon/stack_table.h
daemon/session.h:
include/cprof_record.h:
daemon/process_table.h:
daemon/proc_maps.h:
daemon/stack_table.h:
