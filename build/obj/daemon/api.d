build/obj/daemon/api.o: daemon/api.c daemon/api.h daemon/access.h \
 daemon/cprofd.h include/cprof_protocol.h include/cprof_record.h \
 common/json_writer.h
daemon/api.h:
daemon/access.h:
daemon/cprofd.h:
include/cprof_protocol.h:
include/cprof_record.h:
common/json_writer.h:
