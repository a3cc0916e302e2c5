build/obj/client/json.o: client/json.c client/json.h
client/json.h:
