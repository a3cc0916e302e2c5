build/obj/daemon/cprofd.o: daemon/cprofd.c daemon/cprofd.h \
 daemon/bpf_sampler.h include/cprof_record.h include/cprof_protocol.h \
 common/json_writer.h daemon/proc_stat.h daemon/process_table.h \
 daemon/proc_maps.h daemon/profile.h daemon/record.h daemon/session.h \
 daemon/stack_table.h daemon/symbolizer.h
daemon/cprofd.h:
daemon/bpf_sampler.h:
include/cprof_record.h:
include/cprof_protocol.h:
common/json_writer.h:
daemon/proc_stat.h:
daemon/process_table.h:
daemon/proc_maps.h:
daemon/profile.h:
daemon/record.h:
daemon/session.h:
daemon/stack_table.h:
daemon/symbolizer.h:
