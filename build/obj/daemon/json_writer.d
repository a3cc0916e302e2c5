build/obj/daemon/json_writer.o: daemon/json_writer.c daemon/json_writer.h
daemon/json_writer.h:
