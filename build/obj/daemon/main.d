build/obj/daemon/main.o: daemon/main.c include/cprof_protocol.h \
 include/cprof_record.h daemon/cprofd.h daemon/http_server.h daemon/log.h
include/cprof_protocol.h:
include/cprof_record.h:
daemon/cprofd.h:
daemon/http_server.h:
daemon/log.h:
