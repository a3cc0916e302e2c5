build/obj/client/json_writer.o: client/json_writer.c client/json_writer.h
client/json_writer.h:
