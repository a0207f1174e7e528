# rshm: the one entry point. `make run` builds and runs the ported demo,
# `make test` runs every test, `make install` installs. Targets are short
# aliases: the builds are file targets with their real prerequisites, and
# each test scenario is a script under tests/run/ or a Rust integration test
# (docs/TESTING.md lists them).

CARGO    ?= cargo
CC       ?= cc
CXX      ?= c++
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror
RELEASE  := target/release
EXAMPLES := target/examples
CTESTS   := target/ctests
SEED     := c_examples/shm_example.expected
VERSION  := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
MAJOR    := $(word 1,$(subst ., ,$(VERSION)))
MINOR    := $(word 2,$(subst ., ,$(VERSION)))
# cargo-c's rule, which build.rs gives the library too: 0.x → librshm.so.0.MINOR, later librshm.so.MAJOR.
SONAME   := librshm.so.$(if $(filter 0,$(MAJOR)),0.$(MINOR),$(MAJOR))
RPATH    := -Wl,-rpath,'$$ORIGIN/../release'
RUN      := tests/run

# ---- the libraries and the command ----
SHARED   := $(RELEASE)/librshm.so
STATIC   := $(RELEASE)/librshm.a
PRELOAD  := $(RELEASE)/librshm_preload.so
COMMAND  := $(RELEASE)/rshm
RUST_SOURCES := $(shell find src rshm/src compat/src preload/src cli/src -name '*.rs') \
                Cargo.toml Cargo.lock build.rs $(wildcard */build.rs) $(wildcard */Cargo.toml)
# The system libraries librshm.a needs, as rustc reports them.
STATIC_LIBS  := target/native-static-libs

.PHONY: all run test header examples install uninstall clean bench fuzz fuzz-differential fuzz-c stress miri peers-test \
        runner-test lint header-test rust-test c-test example-test compat-test preload-test preload-family-test install-test stress-test valgrind-test \
        docs-test cpp-test cmake-test c89-test

all: $(SHARED) $(STATIC) $(PRELOAD) $(COMMAND) examples

# The C library is the rshm-capi crate, whose outputs are librshm_capi.*: librshm.* name them
# (as cargo-c renames its libraries), and librshm.so.SONAME is the link the loader looks for.
$(SHARED) $(STATIC) $(PRELOAD) $(COMMAND) &: $(RUST_SOURCES)
	$(CARGO) build --release --quiet
	ln -sf librshm_capi.so $(SHARED)
	ln -sf librshm_capi.a $(STATIC)
	ln -sf librshm.so $(RELEASE)/$(SONAME)
	touch $(RELEASE)/librshm_capi.so $(RELEASE)/librshm_capi.a $(PRELOAD) $(COMMAND)

$(STATIC_LIBS): Cargo.toml Cargo.lock
	@mkdir -p $(@D)
	$(CARGO) rustc --release --quiet -p rshm-capi --lib --crate-type staticlib -- --print native-static-libs 2>&1 \
		| sed -n 's/.*native-static-libs: //p' | tail -1 > $@

# Regenerate include/rshm.h and the table of statuses in docs/c-api.md from the sources,
# on purpose (make test checks both are current).
header:
	$(CARGO) run --release --quiet -p rshm-header -- include/rshm.h docs/c-api.md

# ---- examples ----
EXAMPLE_BINS := $(addprefix $(EXAMPLES)/,shm_example writer reader cpp_example sem_demo channel_demo)
examples: $(EXAMPLE_BINS)

$(EXAMPLES)/%: c_examples/%.c c_examples/message.h include/rshm.h $(SHARED)
	@mkdir -p $(@D)
	$(CC) -std=c11 $(WARN) $(CFLAGS) -Iinclude $< -L$(RELEASE) -lrshm $(RPATH) -o $@

$(EXAMPLES)/%: c_examples/%.cpp include/rshm.h include/rshm.hpp $(SHARED)
	@mkdir -p $(@D)
	$(CXX) -std=c++17 $(WARN) $(CFLAGS) -Iinclude $< -L$(RELEASE) -lrshm $(RPATH) -o $@

# Build the library and run the ported demo where ftok finds its "shmfile".
run: $(EXAMPLES)/shm_example
	@cd target && touch shmfile && ./examples/shm_example

# ---- test programs ----
CTEST_NAMES  := $(basename $(notdir $(wildcard tests/c/*.c)))
CTEST_BINS   := $(CTEST_NAMES:%=$(CTESTS)/%.shared) $(CTEST_NAMES:%=$(CTESTS)/%.static)
CTEST_DEPS   := tests/c/harness.h tests/c/options.h include/rshm.h include/rshm_inline.h

$(CTESTS)/%.shared: tests/c/%.c $(CTEST_DEPS) $(SHARED)
	@mkdir -p $(@D)
	$(CC) -std=c11 $(WARN) $(CFLAGS) -pthread -Iinclude -Itests/c $< -L$(RELEASE) -lrshm $(RPATH) -o $@

# With both libraries in one folder -lrshm picks the shared one: name librshm.a by path.
$(CTESTS)/%.static: tests/c/%.c $(CTEST_DEPS) $(STATIC) $(STATIC_LIBS)
	@mkdir -p $(@D)
	$(CC) -std=c11 $(WARN) $(CFLAGS) -pthread -Iinclude -Itests/c $< $(STATIC) $$(cat $(STATIC_LIBS)) -o $@

COMPAT_BINS := $(CTESTS)/seed_compat $(CTESTS)/seed_compat_cpp
$(CTESTS)/seed_compat: tests/seed/shm_example.c include/rshm_compat.h include/rshm.h $(SHARED)
	$(CC) -include rshm_compat.h -Iinclude $< -L$(RELEASE) -lrshm $(RPATH) -o $@
$(CTESTS)/seed_compat_cpp: tests/seed/shm_example.c include/rshm_compat.h include/rshm.h $(SHARED)
	$(CXX) -std=c++17 $(WARN) -include rshm_compat.h -Iinclude -x c++ $< -L$(RELEASE) -lrshm $(RPATH) -o $@

PRELOAD_BINS := $(CTESTS)/seed_plain $(CTESTS)/differential.preload $(CTESTS)/leaky $(CTESTS)/preload_threads
$(CTESTS)/seed_plain: tests/seed/shm_example.c
	$(CC) $< -o $@
$(CTESTS)/differential.preload: tests/c/differential.c tests/c/harness.h
	$(CC) -std=c11 $(WARN) $(CFLAGS) -DRSHM_DIFF_PRELOAD -Itests/c $< -ldl -o $@
$(CTESTS)/leaky: tests/preload/leaky.c
	$(CC) -std=c11 $(WARN) $(CFLAGS) $< -o $@
$(CTESTS)/preload_threads: tests/preload/threads.c
	$(CC) -std=c11 $(WARN) $(CFLAGS) -pthread $< -o $@
# The semaphore and message queue calls under the preload (tests/run/preload_family.sh).
$(CTESTS)/preload_family: tests/preload/family.c | $(CTESTS)
	$(CC) -std=c11 $(WARN) $(CFLAGS) $< -o $@
# The same program through rshm_compat.h: the eight calls become rshm's.
$(CTESTS)/family_compat: tests/preload/family.c include/rshm_compat.h include/rshm.h $(SHARED) | $(CTESTS)
	$(CC) -std=c11 $(WARN) $(CFLAGS) -include rshm_compat.h -Iinclude $< -L$(RELEASE) -lrshm $(RPATH) -o $@
preload-family-test: $(PRELOAD) $(CTESTS)/preload_family $(CTESTS)/family_compat
	@PRELOAD=$(abspath $(PRELOAD)) CTESTS=$(abspath $(CTESTS)) $(RUN)/isolated.sh sh $(RUN)/preload_family.sh

# The rules above that have no mkdir of their own: any of them may run first.
$(COMPAT_BINS) $(PRELOAD_BINS) $(CTESTS)/stress: | $(CTESTS)
$(CTESTS):
	mkdir -p $@

$(CTESTS)/stress: tests/stress/stress.c include/rshm.h $(SHARED)
	$(CC) -std=c11 $(WARN) -O2 -Iinclude $< -L$(RELEASE) -lrshm $(RPATH) -o $@

# ---- the tests ----
test: runner-test lint header-test rust-test c-test example-test compat-test preload-test preload-family-test install-test stress-test valgrind-test \
      docs-test cpp-test cmake-test c89-test
	@echo "make test: all passed"

# The runner itself: a scenario that leaves a SysV object behind fails.
runner-test:
	@! $(RUN)/isolated.sh ipcmk -M 4096 > /dev/null 2>&1 && $(RUN)/isolated.sh true
	@echo "isolated.sh: a scenario that leaves an object fails; one that leaves none passes"
lint:
	@$(RUN)/lint.sh
header-test:
	@$(RUN)/header.sh
# The Rust tests, including the differential fuzzer (RSHM_FUZZ_CASES sequences, 20,000 by default).
rust-test: $(PRELOAD)
	@RSHM_PRELOAD_LIB=$(abspath $(PRELOAD)) $(RUN)/isolated.sh $(CARGO) test --release --workspace --quiet
c-test: $(CTEST_BINS)
	@$(RUN)/c.sh $^
example-test: $(EXAMPLE_BINS)
	@$(RUN)/examples.sh $(EXAMPLES) $(SEED)
compat-test: $(COMPAT_BINS)
	@$(RUN)/compat.sh $(SEED) $^
preload-test: $(PRELOAD) $(PRELOAD_BINS)
	@PRELOAD=$(abspath $(PRELOAD)) CTESTS=$(abspath $(CTESTS)) SEED=$(abspath $(SEED)) $(RUN)/isolated.sh sh $(RUN)/preload.sh
install-test: $(SHARED) $(STATIC) $(PRELOAD) $(COMMAND)
	@MAKE="$(MAKE)" CC="$(CC)" $(RUN)/isolated.sh sh $(RUN)/install.sh
# Many processes on one segment (seqlock and checksums): no torn or lost write.
STRESS_PROCS ?= 32
STRESS_SECONDS ?= 2
stress-test: $(CTESTS)/stress
	@$(RUN)/isolated.sh $< $(STRESS_PROCS) $(STRESS_SECONDS)
valgrind-test: $(CTEST_BINS) $(EXAMPLE_BINS) $(PRELOAD_BINS)
	@$(RUN)/valgrind.sh $(CTESTS) $(EXAMPLES) $(PRELOAD) $(CTESTS)/seed_plain
# Every C and C++ snippet of the README and docs/, built with $(WARN) and run.
docs-test: $(SHARED) include/rshm.h
	@CC="$(CC)" CXX="$(CXX)" CFLAGS="$(CFLAGS)" $(RUN)/isolated.sh sh $(RUN)/docs.sh $(RELEASE) README.md docs/*.md
# Against a scratch install: the C++ layer (C++17 and C++20, sanitizers, -fno-exceptions),
# a CMake project on the CMake package, and a C89 program.
INSTALL_DEPS := $(SHARED) $(STATIC) $(PRELOAD) $(COMMAND) $(STATIC_LIBS)
cpp-test: $(INSTALL_DEPS)
	@MAKE="$(MAKE)" CXX="$(CXX)" $(RUN)/cpp.sh
cmake-test: $(INSTALL_DEPS)
	@MAKE="$(MAKE)" CC="$(CC)" CXX="$(CXX)" $(RUN)/cmake.sh
c89-test: $(INSTALL_DEPS)
	@MAKE="$(MAKE)" CC="$(CC)" $(RUN)/c89.sh

# ---- long runs, not part of make test ----
# The peers' own suites (Python's sysv_ipc, Perl's IPC::SysV) with and without the
# preload: fetched through pip and apt-get source (network), so not part of make test.
peers-test: $(PRELOAD)
	@sh tests/peers/run.sh $(PRELOAD)
stress:
	@$(MAKE) --no-print-directory stress-test STRESS_PROCS=64 STRESS_SECONDS=60

# FUZZ_CASES differential sequences through glibc, rshm_ and the preload,
# then FUZZ_SECONDS of libFuzzer on the parsing of C arguments.
FUZZ_CASES ?= 1000000
FUZZ_SECONDS ?= 120
fuzz: fuzz-differential fuzz-c
fuzz-differential: $(PRELOAD)
	RSHM_FUZZ_CASES=$(FUZZ_CASES) RSHM_PRELOAD_LIB=$(abspath $(PRELOAD)) $(RUN)/isolated.sh \
		$(CARGO) test --release --quiet --test fuzz_differential --test fuzz_family -- --nocapture
# cargo fuzz needs a nightly toolchain; it is installed here when missing.
fuzz-c:
	@command -v cargo-fuzz > /dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && $(CARGO) +nightly fuzz run c_arguments -- -max_total_time=$(FUZZ_SECONDS)

# Miri on the Rust API's logic (needs a nightly toolchain with the miri component).
miri:
	MIRIFLAGS="-Zmiri-disable-isolation -Zmiri-permissive-provenance" $(CARGO) +nightly miri test -p rshm --lib

# ---- install ----
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     := $(DESTDIR)$(PREFIX)/bin
LIBDIR     := $(DESTDIR)$(PREFIX)/lib
INCDIR     := $(DESTDIR)$(PREFIX)/include/rshm
PCDIR      := $(LIBDIR)/pkgconfig
CMAKEDIR   := $(LIBDIR)/cmake/rshm
SHAREDIR   := $(DESTDIR)$(PREFIX)/share
DOCDIR     := $(SHAREDIR)/doc/rshm
# Everything make install puts down, and the preload's soname link that ldconfig may add.
INSTALLED  := $(BINDIR)/rshm $(LIBDIR)/librshm.so.$(VERSION) $(LIBDIR)/$(SONAME) $(LIBDIR)/librshm.so \
              $(LIBDIR)/librshm.a $(LIBDIR)/librshm_preload.so $(LIBDIR)/librshm_preload.so.0 \
              $(addprefix $(INCDIR)/,rshm.h rshm_compat.h rshm_inline.h rshm.hpp) $(PCDIR)/rshm.pc \
              $(addprefix $(CMAKEDIR)/,rshmConfig.cmake rshmConfigVersion.cmake rshmTargets.cmake) \
              $(DOCDIR)/LICENSE-MIT $(DOCDIR)/LICENSE-APACHE $(SHAREDIR)/man/man1/rshm.1 \
              $(SHAREDIR)/bash-completion/completions/rshm $(SHAREDIR)/zsh/site-functions/_rshm \
              $(SHAREDIR)/fish/vendor_completions.d/rshm.fish

# rshm(1) and the bash, zsh and fish completions, which the command generates from the one
# definition of its command line (cli/src/args.rs).
GENERATED  := target/generated
$(GENERATED)/stamp: $(COMMAND)
	@mkdir -p $(@D)
	$(COMMAND) manpage > $(@D)/rshm.1
	$(COMMAND) completions bash > $(@D)/rshm.bash
	$(COMMAND) completions zsh > $(@D)/_rshm
	$(COMMAND) completions fish > $(@D)/rshm.fish
	@touch $@

# Libraries and the command are stripped of debug information. The .in templates (pkg-config,
# CMake) are filled in with sed: installing needs no CMake, and the CMake package finds its
# files relative to its own folder.
install: $(SHARED) $(STATIC) $(PRELOAD) $(COMMAND) $(STATIC_LIBS) $(GENERATED)/stamp
	install -d $(BINDIR) $(LIBDIR) $(INCDIR) $(PCDIR) $(CMAKEDIR) $(DOCDIR) $(SHAREDIR)/man/man1 \
		$(SHAREDIR)/bash-completion/completions $(SHAREDIR)/zsh/site-functions $(SHAREDIR)/fish/vendor_completions.d
	install -m 0755 -s $(COMMAND) $(BINDIR)/rshm
	install -m 0755 -s $(SHARED) $(LIBDIR)/librshm.so.$(VERSION)
	ln -sf librshm.so.$(VERSION) $(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(LIBDIR)/librshm.so
	install -m 0644 $(STATIC) $(LIBDIR)/librshm.a
	strip --strip-debug $(LIBDIR)/librshm.a
	install -m 0755 -s $(PRELOAD) $(LIBDIR)/librshm_preload.so
	install -m 0644 include/rshm.h include/rshm_compat.h include/rshm_inline.h include/rshm.hpp $(INCDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e "s|@NATIVE_STATIC_LIBS@|$$(cat $(STATIC_LIBS))|" \
		rshm.pc.in > $(PCDIR)/rshm.pc
	sed -e 's|@VERSION@|$(VERSION)|g' cmake/rshmConfig.cmake.in > $(CMAKEDIR)/rshmConfig.cmake
	sed -e 's|@VERSION@|$(VERSION)|g' -e "s|@SIZEOF_VOID_P@|$$(($$(getconf LONG_BIT) / 8))|g" \
		cmake/rshmConfigVersion.cmake.in > $(CMAKEDIR)/rshmConfigVersion.cmake
	sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@SONAME@|$(SONAME)|g' \
		-e "s|@NATIVE_STATIC_LIBS@|$$(xargs -n1 < $(STATIC_LIBS) | sed 's/^-l//' | paste -sd ';' -)|" \
		cmake/rshmTargets.cmake.in > $(CMAKEDIR)/rshmTargets.cmake
	install -m 0644 LICENSE-MIT LICENSE-APACHE $(DOCDIR)/
	install -m 0644 $(GENERATED)/rshm.1 $(SHAREDIR)/man/man1/rshm.1
	install -m 0644 $(GENERATED)/rshm.bash $(SHAREDIR)/bash-completion/completions/rshm
	install -m 0644 $(GENERATED)/_rshm $(SHAREDIR)/zsh/site-functions/_rshm
	install -m 0644 $(GENERATED)/rshm.fish $(SHAREDIR)/fish/vendor_completions.d/rshm.fish
	@echo "installed under $(DESTDIR)$(PREFIX); run ldconfig if $(PREFIX)/lib is in the loader's path"

uninstall:
	rm -f $(INSTALLED)
	-rmdir $(INCDIR) $(CMAKEDIR) $(DOCDIR) 2>/dev/null

# ---- benchmarks: see docs/benchmarks.md ----
bench: $(SHARED)
	@mkdir -p target/bench
	$(CC) -std=c11 $(WARN) -O2 -Iinclude benches/calls.c -L$(RELEASE) -lrshm -lm $(RPATH) -o target/bench/calls
	$(CC) -std=c11 $(WARN) -O2 -Iinclude benches/copy.c -L$(RELEASE) -lrshm -lm $(RPATH) -o target/bench/copy
	$(CC) -std=c11 $(WARN) -O2 -Iinclude benches/prefault.c -L$(RELEASE) -lrshm -lm $(RPATH) -o target/bench/prefault
	cd bench && $(CARGO) build --release --quiet
	@echo "== the libc-compatible calls against glibc"; ./target/bench/calls target/bench/calls.csv
	@echo "== checked copies (rshm_write / rshm_read, and the inline view) against memcpy"; ./target/bench/copy target/bench/copy.csv
	@echo "== the first touch of a 1 GiB segment"; ./target/bench/prefault target/bench/prefault.csv
	@echo "== channels and IPC, with iceoryx2"; ./bench/target/release/rshm-bench target/bench

clean:
	$(CARGO) clean
	rm -f shmfile
	cd bench && $(CARGO) clean
