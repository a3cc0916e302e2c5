build/obj/client/http.o: client/http.c client/http.h
client/http.h:
