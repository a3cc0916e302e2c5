# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# make           build build/cprofd and build/cprofctl
# make demo      install what is missing, build, profile a bundled workload
# make check     install what is missing, build, run every test
# make bench     install the peers (perf, bcc, bpftrace), run the benchmarks (long)
# make V=1       show the commands
# make SANITIZE=1 BUILD=build-asan   an ASan+UBSan build
# make fuzz      build the libFuzzer targets, run each FUZZ_SECONDS (60)
# make fuzz-smoke   the same for FUZZ_SMOKE_SECONDS (10) each, as check does
# make check-layout  the include rules between parts and the 800-line limit

BUILD ?= build
OBJ := $(BUILD)/obj
PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions

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

# libiberty: the C++ and Rust (legacy and v0) demangler that binutils and perf use.
DAEMON_LIBS := -lbpf -lelf -ldw -ldebuginfod -liberty -lz -lsystemd -lmicrohttpd -lpthread
CLIENT_LIBS := -lcurl -lz

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
# daemon/ is in parts, one folder each (docs/ARCHITECTURE.md); main.c is the program.
DAEMON_SRCS := $(wildcard daemon/*.c daemon/*/*.c)
DAEMON_OBJS := $(patsubst daemon/%.c,$(OBJ)/daemon/%.o,$(DAEMON_SRCS))
DAEMON_LIB_OBJS := $(filter-out $(OBJ)/daemon/main.o,$(DAEMON_OBJS)) $(COMMON_OBJS)
CLIENT_SRCS := $(wildcard client/*.c)
CLIENT_OBJS := $(patsubst client/%.c,$(OBJ)/client/%.o,$(CLIENT_SRCS)) $(COMMON_OBJS)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
WORKLOAD_SRCS := $(wildcard tests/workloads/*.c)
WORKLOAD_CXX_SRCS := $(wildcard tests/workloads/*.cc)
WORKLOAD_NOFP_SRCS := $(wildcard tests/workloads/nofp/*.cc)
WORKLOAD_BINS := $(patsubst tests/workloads/%.c,$(BUILD)/workloads/%,$(WORKLOAD_SRCS)) \
		 $(patsubst tests/workloads/%.cc,$(BUILD)/workloads/%,$(WORKLOAD_CXX_SRCS)) \
		 $(patsubst tests/workloads/nofp/%.cc,$(BUILD)/workloads/%,$(WORKLOAD_NOFP_SRCS)) \
		 $(BUILD)/workloads/deep_rust
BENCH_BINS := $(BUILD)/bench/capture $(BUILD)/bench/replay $(BUILD)/bench/symbolize \
	      $(BUILD)/bench/fixed_work $(BUILD)/bench/unwind_build $(BUILD)/bench/history_fill

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps deps-bench demo check check-asan check-layout check-unit check-integration tests \
	install deb clean fuzz fuzz-build fuzz-smoke bench bench-build

all: $(BUILD)/cprofd $(BUILD)/cprofctl

$(BUILD)/vmlinux.h:
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) include/cprof_record.h include/cprof_unwind.h \
		   $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# Every daemon object may include the skeleton; generate it first.
$(OBJ)/daemon/%.o: daemon/%.c $(BUILD)/profile.skel.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Idaemon -I$(BUILD) -MMD -MP -c $< -o $@

$(OBJ)/client/%.o: client/%.c | $(OBJ)/client
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Iclient -MMD -MP -c $< -o $@

$(OBJ)/common/%.o: common/%.c | $(OBJ)/common
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(OBJ)/client $(OBJ)/common $(BUILD)/tests $(BUILD)/workloads $(BUILD)/bench:
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

# The replay harness: bpf/unwind.h over a core file (tests/replay/README.md).
# Not a test_* binary, which run.sh would run with no core to read.
$(BUILD)/tests/replay: tests/replay/replay.c bpf/unwind.h include/cprof_unwind.h \
		       include/cprof_record.h $(BUILD)/libcprofd.a | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Idaemon -I$(BUILD) $< $(BUILD)/libcprofd.a $(LDFLAGS) \
		$(DAEMON_LIBS) -o $@

# Workloads keep their frames so stacks can be checked against perf.
WORKLOAD_CFLAGS := -O2 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer \
		   -fno-optimize-sibling-calls -fno-inline -pthread
$(BUILD)/workloads/%: tests/workloads/%.c tests/workloads/workload.h | $(BUILD)/workloads
	$(call msg,CC,$@)
	$(Q)$(CC) $(WORKLOAD_CFLAGS) $< -o $@ -lm

# Workloads built as most of a distribution is, without frame pointers: for
# unwinding by CFI. -g for perf --call-graph dwarf's names and lines.
$(BUILD)/workloads/%: tests/workloads/nofp/%.cc | $(BUILD)/workloads
	$(call msg,CXX,$@)
	$(Q)$(CXX) -O2 -g -fomit-frame-pointer -pthread $< -o $@

# Rust without frame pointers (rustc's default too), from Debian's rustc.
RUSTC ?= /usr/bin/rustc
$(BUILD)/workloads/deep_rust: tests/workloads/nofp/deep_rust.rs | $(BUILD)/workloads
	$(call msg,RUSTC,$@)
	$(Q)$(RUSTC) -C opt-level=2 -C force-frame-pointers=no -g $< -o $@

# C++ workloads, for demangled names and inlined frames; same flags.
$(BUILD)/workloads/%: tests/workloads/%.cc | $(BUILD)/workloads
	$(call msg,CXX,$@)
	$(Q)$(CXX) $(WORKLOAD_CFLAGS) $< -o $@ -lm

# libFuzzer targets (clang only): tests/fuzz/fuzz_NAME.c each, linked against
# the daemon's sources compiled again with coverage and sanitizers; the
# archive lets a target take only the modules it calls. Seeds are in
# tests/fuzz/corpus/NAME/, a dictionary in tests/fuzz/NAME.dict if any.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	       -fno-omit-frame-pointer -std=gnu11 -Wall -Wextra -Werror -Werror=undef \
	       -Wno-unused-parameter -D_GNU_SOURCE -Iinclude -Icommon
FUZZ_LIB_OBJS := $(patsubst $(OBJ)/%,$(FUZZ_DIR)/obj/%,$(DAEMON_LIB_OBJS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(FUZZ_SRCS))

$(FUZZ_DIR)/obj/daemon/%.o: daemon/%.c $(BUILD)/profile.skel.h
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -Idaemon -I$(BUILD) -MMD -MP -c $< -o $@

$(FUZZ_DIR)/obj/common/%.o: common/%.c
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_DIR)/libcprofd.a: $(FUZZ_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_DIR)/libcprofd.a
	$(call msg,FUZZ-LD,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -Idaemon -I$(BUILD) -Itests/fuzz $< $(FUZZ_DIR)/libcprofd.a \
		$(DAEMON_LIBS) -o $@

fuzz-build: $(FUZZ_BINS)

fuzz: deps
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)tests/fuzz/run.sh $(BUILD) $(FUZZ_SECONDS)

fuzz-smoke: deps
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)tests/fuzz/run.sh $(BUILD) $(FUZZ_SMOKE_SECONDS)

# Benchmarks link the daemon's library; they build with the tests so they don't rot.
$(BUILD)/bench/%: bench/%.c bench/record_file.h $(BUILD)/libcprofd.a | $(BUILD)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Idaemon -I$(BUILD) -Ibench $< $(BUILD)/libcprofd.a $(LDFLAGS) \
		$(DAEMON_LIBS) -o $@

$(BUILD)/bench/fixed_work: bench/workloads/fixed_work.c | $(BUILD)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(WORKLOAD_CFLAGS) $< -o $@

bench-build: all $(WORKLOAD_BINS) $(BENCH_BINS)

tests: all $(UNIT_BINS) $(BUILD)/tests/replay $(WORKLOAD_BINS) $(BENCH_BINS)

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

# Every test runs twice: on the normal build, and on an ASan+UBSan build;
# the fuzz targets (sanitized themselves) run once, briefly.
check: deps
	$(Q)$(MAKE) --no-print-directory tests fuzz-build
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 tests
	$(Q)FUZZ_SMOKE_SECONDS=$(FUZZ_SMOKE_SECONDS) tests/run.sh $(BUILD) build-asan

check-asan: deps
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 tests
	$(Q)FUZZ_SMOKE_SECONDS=0 tests/run.sh build-asan

# The dependency rules between parts and the file-size limit (docs/ARCHITECTURE.md).
check-layout:
	$(Q)python3 tests/check_layout.py

check-unit: tests
	$(Q)tests/run.sh --unit $(BUILD)

check-integration: tests
	$(Q)tests/run.sh --integration $(BUILD)

# The unit names /usr/sbin/cprofd; another PREFIX gets its own path.
install: all
	install -D -m 0755 $(BUILD)/cprofd $(DESTDIR)$(PREFIX)/sbin/cprofd
	install -D -m 0755 $(BUILD)/cprofctl $(DESTDIR)$(PREFIX)/bin/cprofctl
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|/usr/sbin/cprofd|$(PREFIX)/sbin/cprofd|' packaging/cprofd.service \
		> $(DESTDIR)$(UNITDIR)/cprofd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/cprofd.service
	install -m 0644 packaging/cprofd.socket $(DESTDIR)$(UNITDIR)/cprofd.socket
	install -D -m 0644 packaging/cprofd.sysusers $(DESTDIR)$(SYSUSERSDIR)/cprofd.conf
	install -D -m 0644 packaging/cprofd.conf $(DESTDIR)$(SYSCONFDIR)/cprofd/cprofd.conf
	install -D -m 0644 packaging/man/cprofd.8 $(DESTDIR)$(MANDIR)/man8/cprofd.8
	install -D -m 0644 packaging/man/cprofctl.1 $(DESTDIR)$(MANDIR)/man1/cprofctl.1
	install -D -m 0644 packaging/bash-completion/cprofctl \
		$(DESTDIR)$(BASHCOMPDIR)/cprofctl

# A Debian package from packaging/debian/, built in a copy of the sources
# under $(BUILD)/deb (again only when a source changed), then checked by
# lintian; the .deb lands there too. dpkg-buildpackage gets a clean
# environment: a BUILD or SANITIZE of ours must not reach debian/rules.
DEB_SOURCES := Makefile README.md bpf include common daemon client packaging
DEB_VERSION := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' packaging/debian/changelog)
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
DEB := $(BUILD)/deb/cprofd_$(DEB_VERSION)_$(DEB_ARCH).deb

deb: $(DEB)

$(DEB): $(shell find $(DEB_SOURCES) -type f 2>/dev/null)
	$(call msg,DEB,$@)
	$(Q)rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb/cprofd
	$(Q)cp -a $(DEB_SOURCES) $(BUILD)/deb/cprofd/
	$(Q)cp -a packaging/debian $(BUILD)/deb/cprofd/debian
	$(Q)cd $(BUILD)/deb/cprofd && env -i PATH="$$PATH" HOME="$$HOME" LC_ALL=C.UTF-8 \
		dpkg-buildpackage -b -us -uc >../build.log 2>&1 || { tail -40 ../build.log; exit 1; }
	$(Q)lintian --fail-on error $(BUILD)/deb/cprofd_*.changes >$(BUILD)/deb/lintian.txt 2>&1 || \
		{ cat $(BUILD)/deb/lintian.txt; exit 1; }
	$(Q)sed 's/^/  lintian: /' $(BUILD)/deb/lintian.txt
	$(Q)test -f $@

clean:
	rm -rf $(BUILD) build-asan

-include $(DAEMON_OBJS:.o=.d) $(CLIENT_OBJS:.o=.d) $(FUZZ_LIB_OBJS:.o=.d)
