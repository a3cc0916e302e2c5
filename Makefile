# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# make           build build/cprofd and build/cprofctl
# make demo      install what is missing, build, profile a bundled workload
# make check     install what is missing, build, run every test
# make bench     install the peers (perf, bcc, bpftrace), run the benchmarks (long)
# make V=1       show the commands
# make SANITIZE=1 BUILD=build-asan   an ASan+UBSan build

BUILD ?= build
OBJ := $(BUILD)/obj
PREFIX ?= /usr/local
DESTDIR ?=

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed 's/x86_64/x86/; s/aarch64/arm64/')

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Werror=undef -Wno-unused-parameter \
	  -D_GNU_SOURCE -Iinclude -Icommon
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

DAEMON_LIBS := -lbpf -lelf -ldw -lz -lsystemd -lmicrohttpd
CLIENT_LIBS := -lcurl

BPF_CFLAGS := -O2 -g -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	      -Iinclude -I$(BUILD) $(BPF_EXTRA_CFLAGS)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# common/ is code both programs use; daemon/ and client/ never include each other.
COMMON_SRCS := $(wildcard common/*.c)
COMMON_OBJS := $(patsubst common/%.c,$(OBJ)/common/%.o,$(COMMON_SRCS))
DAEMON_SRCS := $(wildcard daemon/*.c)
DAEMON_OBJS := $(patsubst daemon/%.c,$(OBJ)/daemon/%.o,$(DAEMON_SRCS))
DAEMON_LIB_OBJS := $(filter-out $(OBJ)/daemon/main.o,$(DAEMON_OBJS)) $(COMMON_OBJS)
CLIENT_SRCS := $(wildcard client/*.c)
CLIENT_OBJS := $(patsubst client/%.c,$(OBJ)/client/%.o,$(CLIENT_SRCS)) $(COMMON_OBJS)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
WORKLOAD_SRCS := $(wildcard tests/workloads/*.c)
WORKLOAD_BINS := $(patsubst tests/workloads/%.c,$(BUILD)/workloads/%,$(WORKLOAD_SRCS))
BENCH_BINS := $(BUILD)/bench/capture $(BUILD)/bench/replay $(BUILD)/bench/fixed_work

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps deps-bench demo check check-asan check-unit check-integration tests bench \
	bench-build install clean

all: $(BUILD)/cprofd $(BUILD)/cprofctl

$(BUILD)/vmlinux.h:
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c include/cprof_record.h $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# Every daemon object may include the skeleton; generate it first.
$(OBJ)/daemon/%.o: daemon/%.c $(BUILD)/profile.skel.h | $(OBJ)/daemon
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Idaemon -I$(BUILD) -MMD -MP -c $< -o $@

$(OBJ)/client/%.o: client/%.c | $(OBJ)/client
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Iclient -MMD -MP -c $< -o $@

$(OBJ)/common/%.o: common/%.c | $(OBJ)/common
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(OBJ)/daemon $(OBJ)/client $(OBJ)/common $(BUILD)/tests $(BUILD)/workloads $(BUILD)/bench:
	$(Q)mkdir -p $@

$(BUILD)/libcprofd.a: $(DAEMON_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/cprofd: $(OBJ)/daemon/main.o $(BUILD)/libcprofd.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(DAEMON_LIBS) -o $@

$(BUILD)/cprofctl: $(CLIENT_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(CLIENT_LIBS) -o $@

$(BUILD)/tests/%: tests/unit/%.c tests/test.h $(BUILD)/libcprofd.a | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Idaemon -I$(BUILD) -Itests $< $(BUILD)/libcprofd.a $(LDFLAGS) \
		$(DAEMON_LIBS) -o $@

# Workloads keep their frames so stacks can be checked against perf.
WORKLOAD_CFLAGS := -O2 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer \
		   -fno-optimize-sibling-calls -fno-inline -pthread
$(BUILD)/workloads/%: tests/workloads/%.c | $(BUILD)/workloads
	$(call msg,CC,$@)
	$(Q)$(CC) $(WORKLOAD_CFLAGS) $< -o $@ -lm

# Benchmarks link the daemon's library; they build with the tests so they don't rot.
$(BUILD)/bench/%: bench/%.c bench/record_file.h $(BUILD)/libcprofd.a | $(BUILD)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Idaemon -I$(BUILD) -Ibench $< $(BUILD)/libcprofd.a $(LDFLAGS) \
		$(DAEMON_LIBS) -o $@

$(BUILD)/bench/fixed_work: bench/workloads/fixed_work.c | $(BUILD)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(WORKLOAD_CFLAGS) $< -o $@

bench-build: all $(WORKLOAD_BINS) $(BENCH_BINS)

tests: all $(UNIT_BINS) $(WORKLOAD_BINS) $(BENCH_BINS)

deps:
	$(Q)packaging/install-deps.sh

deps-bench:
	$(Q)packaging/install-deps.sh --bench

# Long (tens of minutes) and wants a quiet machine: never part of check.
# BENCH_ARGS passes options to bench/run.py (say BENCH_ARGS="--only bpf-cost").
bench: deps-bench
	$(Q)$(MAKE) --no-print-directory bench-build
	$(Q)python3 bench/run.py --build $(BUILD) $(BENCH_ARGS)

demo: deps
	$(Q)$(MAKE) --no-print-directory all $(WORKLOAD_BINS)
	$(Q)tests/demo.sh $(BUILD)

# Every test runs twice: on the normal build, and on an ASan+UBSan build.
check: deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 tests
	$(Q)tests/run.sh $(BUILD) build-asan

check-asan: deps
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 tests
	$(Q)tests/run.sh build-asan

check-unit: tests
	$(Q)tests/run.sh --unit $(BUILD)

check-integration: tests
	$(Q)tests/run.sh --integration $(BUILD)

install: all
	install -D -m 0755 $(BUILD)/cprofd $(DESTDIR)$(PREFIX)/sbin/cprofd
	install -D -m 0755 $(BUILD)/cprofctl $(DESTDIR)$(PREFIX)/bin/cprofctl
	install -D -m 0644 packaging/cprofd.service $(DESTDIR)$(PREFIX)/lib/systemd/system/cprofd.service

clean:
	rm -rf $(BUILD) build-asan

-include $(DAEMON_OBJS:.o=.d) $(CLIENT_OBJS:.o=.d)
