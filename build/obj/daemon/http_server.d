build/obj/daemon/http_server.o: daemon/http_server.c daemon/http_server.h \
 daemon/cprofd.h daemon/access.h daemon/api.h include/cprof_protocol.h \
 daemon/log.h
daemon/http_server.h:
daemon/cprofd.h:
daemon/access.h:
daemon/api.h:
include/cprof_protocol.h:
daemon/log.h:
