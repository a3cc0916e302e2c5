build/obj/daemon/pprof.o: daemon/pprof.c daemon/pprof.h
daemon/pprof.h:
