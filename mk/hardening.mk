# mk/hardening.mk - fuzzing, sanitizers, valgrind, TSan, ABI and portability checks.
# Every target builds in its own directory ($(BUILD)-asan, $(BUILD)-m32, ...) by re-running
# this Makefile with BUILD/CC/CFLAGS overridden, so build/ is never clobbered.
#
#   make fuzz [FUZZ_SECONDS=30]   every libFuzzer target for N seconds each
#   make sanitize                  C tests, clang -O2 ASan+UBSan, no recovery
#   make valgrind                  C tests under valgrind: 0 errors, 0 leaks
#   make tsan                      concurrency suite under ThreadSanitizer
#   make check-abi                 abidiff vs Tests/abi/libdeconv.abi + exports list
#   make abi-baseline              regenerate Tests/abi/libdeconv.abi (after an intended change)
#   make check-m32                 C core + tests built with -m32 and run
#   make check-aarch64             cross-built for aarch64, run under qemu-user
#   make hardening                 all of the above

CLANG        ?= /opt/swift/usr/bin/clang
FUZZ_SECONDS ?= 30
FUZZ_TARGETS := $(patsubst Tests/fuzz/fuzz_%.c,%,$(sort $(wildcard Tests/fuzz/fuzz_*.c)))
SAN_FLAGS    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# lld: the default gold linker warns on every ASan runtime symbol
SAN_LD       ?= -fuse-ld=lld
AARCH64_CC   ?= aarch64-linux-gnu-gcc
AARCH64_AR   ?= aarch64-linux-gnu-ar
QEMU_AARCH64 ?= qemu-aarch64
AARCH64_SYSROOT ?= /usr/aarch64-linux-gnu
M32_CC       ?= gcc
ABI_BASELINE := Tests/abi/libdeconv.abi
# abidw/abidiff restricted to what include/ declares, so private types never count.
ABIDW_FLAGS  := --headers-dir include --drop-private-types --no-corpus-path --no-comp-dir-path
ABIDIFF_FLAGS := --headers-dir2 include --drop-private-types --no-corpus-path --fail-no-debug-info

.PHONY: fuzz fuzz-build sanitize valgrind tsan check-abi abi-baseline check-m32 \
        check-aarch64 hardening

hardening: sanitize valgrind tsan check-abi check-m32 check-aarch64 fuzz

# ---- fuzzing -------------------------------------------------------------------------------
# Each target links the library sources (instrumented) directly, so it can also reach the
# reference plans in internal.h. New inputs go to $(BUILD)-fuzz/corpus; the committed seeds
# in Tests/fuzz/corpus/<target> are only read. Tests/fuzz/regress/<target> holds inputs too
# slow to mutate (fuzz_diff's large tier): each runs once before the target is fuzzed. A
# crash, sanitizer report, mismatch (the harness aborts) or timeout makes libFuzzer exit
# non-zero, which fails the target.
FUZZ_DIR := $(BUILD)-fuzz
FUZZ_CFLAGS := -O1 -g $(SAN_FLAGS) -std=c99 -Wall -Wextra -Wpedantic -Werror \
               -D_POSIX_C_SOURCE=200809L -Iinclude -ISources/CDeconv -ITests/fuzz -pthread

$(FUZZ_DIR)/fuzz_%: Tests/fuzz/fuzz_%.c $(wildcard Tests/fuzz/*.h) $(SRC) $(HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) $(SAN_LD) -fsanitize=fuzzer $< $(SRC) -o $@ -lm

fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)

fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/artifacts; \
	    if [ -d Tests/fuzz/regress/$$t ]; then \
	        echo "== fuzz $$t: the inputs of Tests/fuzz/regress/$$t, once each"; \
	        if ! $(FUZZ_DIR)/fuzz_$$t -timeout=120 -rss_limit_mb=4096 \
	             -artifact_prefix=$(FUZZ_DIR)/artifacts/$$t-regress- \
	             Tests/fuzz/regress/$$t/* > $(FUZZ_DIR)/$$t-regress.log 2>&1; then \
	            tail -60 $(FUZZ_DIR)/$$t-regress.log; \
	            echo "fuzz $$t FAILED on a regress input (log $(FUZZ_DIR)/$$t-regress.log)"; exit 1; \
	        fi; \
	        grep -c '^Executed' $(FUZZ_DIR)/$$t-regress.log | sed 's/^/   inputs run: /'; \
	    fi; \
	    echo "== fuzz $$t for $(FUZZ_SECONDS)s"; \
	    if ! $(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=20 \
	         -rss_limit_mb=2048 -max_len=1024 -print_final_stats=1 \
	         -artifact_prefix=$(FUZZ_DIR)/artifacts/$$t- \
	         $(FUZZ_DIR)/corpus/$$t Tests/fuzz/corpus/$$t > $(FUZZ_DIR)/$$t.log 2>&1; then \
	        tail -60 $(FUZZ_DIR)/$$t.log; echo "fuzz $$t FAILED (log $(FUZZ_DIR)/$$t.log)"; exit 1; \
	    fi; \
	    grep -E 'stat::number_of_executed_units|Done [0-9]+ runs' $(FUZZ_DIR)/$$t.log | tail -2; \
	done; echo "fuzz: all targets ran $(FUZZ_SECONDS)s each without a finding"

# ---- sanitizers and valgrind ---------------------------------------------------------------
# Release optimisation (-O2) on purpose: validation must hold where asserts are compiled out.
sanitize:
	$(MAKE) --no-print-directory BUILD=$(BUILD)-asan CC=$(CLANG) \
	    CFLAGS="-O2 -g $(SAN_FLAGS)" LDFLAGS="$(SAN_FLAGS) $(SAN_LD)" $(BUILD)-asan/deconv_tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $(BUILD)-asan/deconv_tests

VALGRIND_FLAGS := --error-exitcode=1 --leak-check=full --show-leak-kinds=all \
                  --errors-for-leak-kinds=definite,indirect,possible --track-origins=yes
# VALGRIND_SUITE: optional substring selecting suites (the runner's argument); empty = all.
VALGRIND_SUITE ?=
valgrind:
	$(MAKE) --no-print-directory BUILD=$(BUILD)-vg CFLAGS="-O2 -g" $(BUILD)-vg/deconv_tests
	valgrind $(VALGRIND_FLAGS) $(BUILD)-vg/deconv_tests $(VALGRIND_SUITE)

# The concurrency suite under ThreadSanitizer (every other suite is single-threaded), in a
# runner of its own so no other suite's build is needed. gcc's TSan: the Swift toolchain's
# clang TSan runtime wants libdispatch at link time.
TSAN_CC ?= gcc
TSAN_FLAGS := -O1 -g -fsanitize=thread
tsan:
	$(MAKE) --no-print-directory BUILD=$(BUILD)-tsan CC=$(TSAN_CC) CFLAGS="$(TSAN_FLAGS)" \
	    $(BUILD)-tsan/libdeconv.a
	echo "SUITE(concurrency)" > $(BUILD)-tsan/suites.inc
	$(TSAN_CC) $(TSAN_FLAGS) $(BASEFLAGS) -I$(BUILD)-tsan -ITests/c Tests/c/main.c \
	    Tests/c/test_concurrency.c $(BUILD)-tsan/libdeconv.a -o $(BUILD)-tsan/concurrency_tests $(LIBS)
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 $(BUILD)-tsan/concurrency_tests

# ---- ABI -------------------------------------------------------------------------------------
# A dedicated build with fixed flags (-O2 -g: abidw needs DWARF) so the comparison does not
# depend on the caller's CFLAGS. abidiff's exit status is a bit mask: 1/2 = tool error,
# 4 = an ABI change, 8 = a change libabigail itself calls incompatible (a removed symbol).
# libabigail reports a changed struct layout (a field's type or offset) as 4 only, so ANY
# change fails here: an intended one (e.g. a new function) is recorded with
# `make abi-baseline` (and Tests/abi/exports.txt), and the diff is reviewed in git.
ABI_BUILD := $(BUILD)-abi
check-abi:
	$(MAKE) --no-print-directory BUILD=$(ABI_BUILD) CFLAGS="-O2 -g" $(ABI_BUILD)/libdeconv.so
	@rc=0; abidiff $(ABIDIFF_FLAGS) $(ABI_BASELINE) $(ABI_BUILD)/libdeconv.so \
	    > $(ABI_BUILD)/abidiff.txt 2>&1 || rc=$$?; cat $(ABI_BUILD)/abidiff.txt; \
	if [ $$rc -ne 0 ]; then \
	    echo "check-abi: ABI differs from $(ABI_BASELINE) (abidiff exit $$rc)."; \
	    echo "  incompatible (changed/removed type or function): fix it or bump the major version;"; \
	    echo "  intended addition: make abi-baseline, update Tests/abi/exports.txt, commit both."; \
	    exit 1; fi; echo "check-abi: ABI identical to $(ABI_BASELINE)"
	sh Tests/abi/check_exports.sh $(ABI_BUILD)/libdeconv.so Tests/abi/exports.txt

abi-baseline:
	$(MAKE) --no-print-directory BUILD=$(ABI_BUILD) CFLAGS="-O2 -g" $(ABI_BUILD)/libdeconv.so
	abidw $(ABIDW_FLAGS) --out-file $(ABI_BASELINE) $(ABI_BUILD)/libdeconv.so
	@echo "wrote $(ABI_BASELINE); review with git diff and commit it"

# ---- portability -----------------------------------------------------------------------------
check-m32:
	$(MAKE) --no-print-directory BUILD=$(BUILD)-m32 CC=$(M32_CC) CFLAGS="-O2 -g -m32" \
	    LDFLAGS="-m32" $(BUILD)-m32/deconv_tests
	$(BUILD)-m32/deconv_tests

check-aarch64:
	$(MAKE) --no-print-directory BUILD=$(BUILD)-aarch64 CC=$(AARCH64_CC) AR=$(AARCH64_AR) \
	    CFLAGS="-O2 -g" $(BUILD)-aarch64/deconv_tests
	QEMU_LD_PREFIX=$(AARCH64_SYSROOT) $(QEMU_AARCH64) -L $(AARCH64_SYSROOT) \
	    $(BUILD)-aarch64/deconv_tests
