build/obj/client/atomic_file.o: client/atomic_file.c client/atomic_file.h
client/atomic_file.h:
