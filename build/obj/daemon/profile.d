build/obj/daemon/profile.o: daemon/profile.c daemon/profile.h \
 daemon/pprof.h daemon/process_table.h daemon/proc_maps.h \
 daemon/session.h include/cprof_record.h daemon/stack_table.h \
 daemon/symbolizer.h
daemon/profile.h:
daemon/pprof.h:
daemon/process_table.h:
daemon/proc_maps.h:
daemon/session.h:
include/cprof_record.h:
daemon/stack_table.h:
daemon/symbolizer.h:
