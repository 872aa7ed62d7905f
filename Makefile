# libdeconv build. Honours CC, CFLAGS, LDFLAGS, PREFIX, DESTDIR (and LIBDIR, INCLUDEDIR).
# Extra targets (bench, fuzz, sanitize, conformance, ...) live in mk/*.mk, included below.

# The version lives in include/deconv.h only; the file names and SONAME follow it.
hdr_version = $(shell sed -n 's/^\#define DECONV_VERSION_$(1) \([0-9]*\)$$/\1/p' include/deconv.h)
VERSION_MAJOR := $(call hdr_version,MAJOR)
VERSION       := $(VERSION_MAJOR).$(call hdr_version,MINOR).$(call hdr_version,PATCH)

CC      ?= cc
CFLAGS  ?= -O2 -g
LDFLAGS ?=
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BUILD   ?= build

# Flags the build needs whatever the caller's CFLAGS say.
WARN      := -std=c99 -Wall -Wextra -Wpedantic -Werror
BASEFLAGS := $(WARN) -D_POSIX_C_SOURCE=200809L -Iinclude -ISources/CDeconv -pthread
LIBFLAGS  := $(BASEFLAGS) -fPIC -fvisibility=hidden -DDECONV_BUILDING
LIBS      := -pthread -lm

SRC  := $(sort $(wildcard Sources/CDeconv/*.c Sources/CDeconv/*/*.c))
OBJ  := $(SRC:%.c=$(BUILD)/obj/%.o)
HDRS := include/deconv.h $(wildcard Sources/CDeconv/*.h Sources/CDeconv/*/*.h)

SONAME  := libdeconv.so.$(VERSION_MAJOR)
SHARED  := $(BUILD)/libdeconv.so.$(VERSION)
STATIC  := $(BUILD)/libdeconv.a
PCFILE  := $(BUILD)/deconv.pc

TEST_SRC := $(sort $(wildcard Tests/c/*.c))
TEST_BIN := $(BUILD)/deconv_tests
STAGE    := $(abspath $(BUILD)/stage)

.PHONY: all install uninstall check clean
all: $(SHARED) $(BUILD)/libdeconv.so $(STATIC) $(PCFILE)

$(BUILD)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LIBFLAGS) $(CFLAGS_$(notdir $*)) -c $< -o $@

$(SHARED): $(OBJ)
	$(CC) $(CFLAGS) -shared -Wl,-soname,$(SONAME) -o $@ $(OBJ) $(LDFLAGS) $(LIBS)
	ln -sf libdeconv.so.$(VERSION) $(BUILD)/$(SONAME)

$(BUILD)/libdeconv.so: $(SHARED)
	ln -sf $(SONAME) $@

$(STATIC): $(OBJ)
	rm -f $@
	$(AR) rcs $@ $(OBJ)

# The .pc records PREFIX, so install writes it afresh for the PREFIX it installs to.
PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
             -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|'
$(PCFILE): deconv.pc.in Makefile
	@mkdir -p $(BUILD)
	$(PC_SED) $< > $@

install: all
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 include/deconv.h $(DESTDIR)$(INCLUDEDIR)/deconv.h
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/libdeconv.so.$(VERSION)
	ln -sf libdeconv.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libdeconv.so
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/libdeconv.a
	$(PC_SED) deconv.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/deconv.pc
	chmod 644 $(DESTDIR)$(LIBDIR)/pkgconfig/deconv.pc

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/deconv.h $(DESTDIR)$(LIBDIR)/libdeconv.so* \
	      $(DESTDIR)$(LIBDIR)/libdeconv.a $(DESTDIR)$(LIBDIR)/pkgconfig/deconv.pc

# The C test runner: every Tests/c/test_NAME.c defines `void suite_NAME(void)`; the list of
# suites is generated from the file names so adding a file is all it takes.
$(BUILD)/suites.inc: $(TEST_SRC)
	@mkdir -p $(BUILD)
	@for f in $(notdir $(filter Tests/c/test_%.c,$(TEST_SRC))); do \
	    n=$${f#test_}; echo "SUITE($${n%.c})"; done > $@.tmp && mv $@.tmp $@

$(TEST_BIN): $(TEST_SRC) $(wildcard Tests/c/*.h) $(STATIC) $(BUILD)/suites.inc
	$(CC) $(CFLAGS) $(BASEFLAGS) -I$(BUILD) -ITests/c $(TEST_SRC) $(STATIC) -o $@ $(LDFLAGS) $(LIBS)

# make check: the C tests, the exported-symbol list, and the example built against an
# installed copy through pkg-config.
check: all $(TEST_BIN)
	$(TEST_BIN)
	sh Tests/abi/check_exports.sh $(SHARED) Tests/abi/exports.txt
	rm -rf $(STAGE)
	$(MAKE) --no-print-directory install DESTDIR= PREFIX=$(STAGE)
	PKG_CONFIG_PATH=$(STAGE)/lib/pkgconfig sh -c '$(CC) $(CFLAGS) $(WARN) examples/quickstart.c \
	    -o $(BUILD)/quickstart $$(pkg-config --cflags --libs deconv) -Wl,-rpath,$(STAGE)/lib'
	$(BUILD)/quickstart

# make test: every test suite, in both languages (the README's test command; CI runs it).
# The system tools it needs are installed by .ci/deps; Python suites make their own venvs.
# conformance is in mk/conformance.mk; hardening (sanitize valgrind tsan check-abi check-m32
# check-aarch64 fuzz) in mk/hardening.mk.
TEST_SUITES := check check-clang swift-test conformance hardening
CLANG ?= clang
.PHONY: test swift-test deps check-clang
test: deps
	$(MAKE) --no-print-directory $(TEST_SUITES)
	@echo "make test: all suites passed ($(TEST_SUITES))"

deps:
	.ci/deps

# The same C build and tests under clang, warnings as errors.
check-clang:
	$(MAKE) --no-print-directory CC=$(CLANG) BUILD=$(BUILD)/clang check

swift-test:
	swift build
	swift test

clean:
	rm -rf $(BUILD)

-include $(sort $(wildcard mk/*.mk))
