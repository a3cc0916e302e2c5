build/obj/daemon/bpf_sampler.o: daemon/bpf_sampler.c daemon/bpf_sampler.h \
 include/cprof_record.h build/profile.skel.h
daemon/bpf_sampler.h:
include/cprof_record.h:
build/profile.skel.h:
