build/obj/client/cprofctl.o: client/cprofctl.c include/cprof_protocol.h \
 client/atomic_file.h client/http.h client/json.h common/json_writer.h
include/cprof_protocol.h:
client/atomic_file.h:
client/http.h:
client/json.h:
common/json_writer.h:
