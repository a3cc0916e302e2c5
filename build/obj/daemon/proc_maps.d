build/obj/daemon/proc_maps.o: daemon/proc_maps.c daemon/proc_maps.h
daemon/proc_maps.h:
