build/obj/daemon/symbolizer.o: daemon/symbolizer.c daemon/symbolizer.h
daemon/symbolizer.h:
