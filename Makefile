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
        docs-test cpp-test cmake-test c89-test toolchain-test abi-check abi-baseline deps-run deps-test test-all deb deb-test

all: $(SHARED) $(STATIC) $(PRELOAD) $(COMMAND) examples

# The C library is the rshm-capi crate, whose outputs are librshm_capi.*. The first build takes
# minutes: cargo shows its progress.
$(PRELOAD) $(COMMAND) $(RELEASE)/librshm_capi.so &: $(RUST_SOURCES)
	@echo "building rshm with cargo (release; the first build takes a few minutes)"
	$(CARGO) build --release
	touch $(RELEASE)/librshm_capi.so $(PRELOAD) $(COMMAND)

# librshm.a (as cargo-c renames its libraries) is the crate built as a staticlib alone in the
# release-lto profile (Cargo.toml: fat LTO, one codegen unit; with the rlib and cdylib crate
# types alongside, cargo applies no LTO): a quarter of the size. The same build prints the system
# libraries it needs (target/native-static-libs), for static links and pkg-config's Libs.private;
# rustc prints them only when it runs, so an up-to-date build keeps the last list.
$(STATIC) $(STATIC_LIBS) &: $(RUST_SOURCES)
	@mkdir -p $(RELEASE)
	{ $(CARGO) rustc --profile release-lto -p rshm-capi --lib --crate-type staticlib -- --print native-static-libs 2>&1; \
	    echo $$? > target/static-build.status; } | tee target/static-build.log | grep -iv 'native-static-libs\|^note: link against\|^note: $$\|^$$' || true
	@[ "$$(cat target/static-build.status)" = 0 ]
	@libs=$$(sed -n 's/.*native-static-libs: //p' target/static-build.log | tail -1); \
	    if [ -n "$$libs" ]; then echo "$$libs" > $(STATIC_LIBS); fi; \
	    [ -s $(STATIC_LIBS) ] || { echo "rustc printed no native-static-libs: remove target/release-lto and retry"; exit 1; }
	ln -sf ../release-lto/librshm_capi.a $(STATIC)
	touch $(STATIC_LIBS) target/release-lto/librshm_capi.a

# librshm.so is linked from librshm.a with abi/librshm.map, which gives every export its
# version node (RSHM_0.2, ...) and keeps everything else local: rustc's own version script for
# a cdylib is anonymous, and ld cannot combine it with named nodes. librshm.so.SONAME is the
# link the loader looks for. make abi-check checks that every export has a node.
ABI_MAP := abi/librshm.map
$(SHARED): $(STATIC) $(STATIC_LIBS) $(ABI_MAP)
	$(CC) -shared -o $@ -Wl,-soname,$(SONAME) -Wl,--version-script=$(ABI_MAP) -Wl,--gc-sections \
		-Wl,-z,relro,-z,now,-z,noexecstack -Wl,--as-needed \
		$$(sed -n 's/^ *\(rshm_[a-z0-9_]*\);.*/-Wl,--undefined=\1/p' $(ABI_MAP)) $(STATIC) $$(cat $(STATIC_LIBS))
	ln -sf librshm.so $(RELEASE)/$(SONAME)

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

# Build the library and run the ported demo where ftok finds its "shmfile". Both make run and
# make test first install the tools they need that are missing (.ci/deps, with apt).
run: deps-run
	@$(MAKE) --no-print-directory $(EXAMPLES)/shm_example
	@cd target && touch shmfile && ./examples/shm_example
deps-run:
	@.ci/deps run
deps-test:
	@.ci/deps test
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
test: deps-test
	@$(MAKE) --no-print-directory test-all
test-all: runner-test toolchain-test lint header-test abi-check rust-test c-test example-test compat-test preload-test preload-family-test install-test stress-test valgrind-test \
      docs-test cpp-test cmake-test c89-test
	@echo "make test: all passed"

# The runner itself: a scenario that leaves a SysV object behind fails.
runner-test:
	@! $(RUN)/isolated.sh ipcmk -M 4096 > /dev/null 2>&1 && $(RUN)/isolated.sh true
	@echo "isolated.sh: a scenario that leaves an object fails; one that leaves none passes"
# librshm's ABI against the committed baseline in abi/ (libabigail's abidiff; docs/c-api.md,
# Versions), and a version node on every export. make abi-baseline retakes the baseline: after
# a release, or when exports were added on purpose (review the diff of abi/ and commit it).
abi-check: $(SHARED) $(RELEASE)/librshm_capi.so
	@command -v abidiff > /dev/null || .ci/deps test
	@CC="$(CC)" $(RUN)/abi.sh check $(SHARED) $(RELEASE)/librshm_capi.so
abi-baseline: $(SHARED) $(RELEASE)/librshm_capi.so
	@command -v abidw > /dev/null || .ci/deps test
	@CC="$(CC)" $(RUN)/abi.sh baseline $(SHARED) $(RELEASE)/librshm_capi.so
# The Rust minimum of Cargo.toml and README.md holds for every package the tests build.
toolchain-test:
	@$(RUN)/toolchain.sh
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
# Every C and C++ snippet of the README and docs/, built with $(WARN) and run; every Rust block
# built with the dependencies its page lists, and run; every ```sh block run as printed (against
# the build tree and a scratch install), its printed output compared.
INSTALL_DEPS := $(SHARED) $(STATIC) $(PRELOAD) $(COMMAND) $(STATIC_LIBS)
DOCS_PREFIX := $(abspath target/docs-prefix)
docs-test: $(INSTALL_DEPS) include/rshm.h
	@CC="$(CC)" CXX="$(CXX)" CFLAGS="$(CFLAGS)" $(RUN)/isolated.sh sh $(RUN)/docs.sh $(RELEASE) README.md docs/*.md
	@$(RUN)/docs_rust.sh README.md docs/*.md
	@rm -rf $(DOCS_PREFIX) && $(MAKE) --no-print-directory -s install PREFIX=$(DOCS_PREFIX) > /dev/null
	@$(RUN)/docs_commands.sh $(RELEASE) $(DOCS_PREFIX) README.md docs/*.md
# Against a scratch install: the C++ layer (C++17 and C++20, sanitizers, -fno-exceptions),
# a CMake project on the CMake package, and a C89 program.
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
# Each directory may be set on the command line (a distribution's: LIBDIR=/usr/lib/x86_64-linux-gnu);
# DESTDIR stages the lot. LIBDIR and INCLUDEDIR must lie under PREFIX: the CMake package finds its
# files relative to its own folder, and the pkg-config files say where they are.
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR    ?= $(PREFIX)/share
PCDIR      ?= $(LIBDIR)/pkgconfig
CMAKEDIR   ?= $(LIBDIR)/cmake/rshm
DOCDIR     ?= $(DATADIR)/doc/rshm
MANDIR     ?= $(DATADIR)/man
PRELOADDIR ?= $(LIBDIR)
ZSHDIR     ?= $(DATADIR)/zsh/site-functions
# The staged paths, and the ones the CMake package computes from its own place.
D_BIN      := $(DESTDIR)$(BINDIR)
D_LIB      := $(DESTDIR)$(LIBDIR)
D_INC      := $(DESTDIR)$(INCLUDEDIR)/rshm
D_PC       := $(DESTDIR)$(PCDIR)
D_CMAKE    := $(DESTDIR)$(CMAKEDIR)
D_DOC      := $(DESTDIR)$(DOCDIR)
D_SHARE    := $(DESTDIR)$(DATADIR)
D_MAN      := $(DESTDIR)$(MANDIR)
D_PRELOAD  := $(DESTDIR)$(PRELOADDIR)
D_ZSH      := $(DESTDIR)$(ZSHDIR)
LIB_REL    := $(patsubst $(PREFIX)/%,%,$(LIBDIR))
INC_REL    := $(patsubst $(PREFIX)/%,%,$(INCLUDEDIR))
CMAKE_UP   := $(shell echo '$(patsubst $(PREFIX)/%,%,$(CMAKEDIR))' | sed 's|[^/][^/]*|..|g')
# Everything make install puts down, and the preload's soname link that ldconfig may add.
INSTALLED  := $(D_BIN)/rshm $(D_LIB)/librshm.so.$(VERSION) $(D_LIB)/$(SONAME) $(D_LIB)/librshm.so \
              $(D_LIB)/librshm.a $(D_PRELOAD)/librshm_preload.so $(D_PRELOAD)/librshm_preload.so.0 \
              $(addprefix $(D_INC)/,rshm.h rshm_compat.h rshm_inline.h rshm.hpp) $(D_PC)/rshm.pc $(D_PC)/rshm-static.pc \
              $(addprefix $(D_CMAKE)/,rshmConfig.cmake rshmConfigVersion.cmake rshmTargets.cmake) \
              $(D_DOC)/LICENSE-MIT $(D_DOC)/LICENSE-APACHE $(D_MAN)/man1/rshm.1 \
              $(D_SHARE)/bash-completion/completions/rshm $(D_ZSH)/_rshm \
              $(D_SHARE)/fish/vendor_completions.d/rshm.fish

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
SUBST      := -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
              -e 's|@VERSION@|$(VERSION)|g' -e 's|@SONAME@|$(SONAME)|g' -e 's|@LIB_REL@|$(LIB_REL)|g' \
              -e 's|@INC_REL@|$(INC_REL)|g' -e 's|@CMAKE_UP@|$(CMAKE_UP)|g'
install: $(SHARED) $(STATIC) $(PRELOAD) $(COMMAND) $(STATIC_LIBS) $(GENERATED)/stamp
	@case "$(LIBDIR)/$(INCLUDEDIR)/$(CMAKEDIR)" in "$(PREFIX)"/*/"$(PREFIX)"/*/"$(PREFIX)"/*) ;; \
	    *) echo "make install: LIBDIR, INCLUDEDIR and CMAKEDIR must lie under PREFIX ($(PREFIX))"; exit 1;; esac
	install -d $(D_BIN) $(D_LIB) $(D_PRELOAD) $(D_INC) $(D_PC) $(D_CMAKE) $(D_DOC) $(D_MAN)/man1 \
		$(D_SHARE)/bash-completion/completions $(D_ZSH) $(D_SHARE)/fish/vendor_completions.d
	install -m 0755 -s $(COMMAND) $(D_BIN)/rshm
	install -m 0644 -s $(SHARED) $(D_LIB)/librshm.so.$(VERSION)
	ln -sf librshm.so.$(VERSION) $(D_LIB)/$(SONAME)
	ln -sf $(SONAME) $(D_LIB)/librshm.so
	install -m 0644 $(STATIC) $(D_LIB)/librshm.a
	strip --strip-debug $(D_LIB)/librshm.a
	install -m 0644 -s $(PRELOAD) $(D_PRELOAD)/librshm_preload.so
	install -m 0644 include/rshm.h include/rshm_compat.h include/rshm_inline.h include/rshm.hpp $(D_INC)/
	sed $(SUBST) -e "s|@NATIVE_STATIC_LIBS@|$$(cat $(STATIC_LIBS))|" rshm.pc.in > $(D_PC)/rshm.pc
	sed $(SUBST) -e "s|@NATIVE_STATIC_LIBS@|$$(cat $(STATIC_LIBS))|" rshm-static.pc.in > $(D_PC)/rshm-static.pc
	sed $(SUBST) cmake/rshmConfig.cmake.in > $(D_CMAKE)/rshmConfig.cmake
	sed $(SUBST) -e "s|@SIZEOF_VOID_P@|$$(($$(getconf LONG_BIT) / 8))|g" \
		cmake/rshmConfigVersion.cmake.in > $(D_CMAKE)/rshmConfigVersion.cmake
	sed $(SUBST) -e "s|@NATIVE_STATIC_LIBS@|$$(xargs -n1 < $(STATIC_LIBS) | sed 's/^-l//' | paste -sd ';' -)|" \
		cmake/rshmTargets.cmake.in > $(D_CMAKE)/rshmTargets.cmake
	install -m 0644 LICENSE-MIT LICENSE-APACHE $(D_DOC)/
	install -m 0644 $(GENERATED)/rshm.1 $(D_MAN)/man1/rshm.1
	install -m 0644 $(GENERATED)/rshm.bash $(D_SHARE)/bash-completion/completions/rshm
	install -m 0644 $(GENERATED)/_rshm $(D_ZSH)/_rshm
	install -m 0644 $(GENERATED)/rshm.fish $(D_SHARE)/fish/vendor_completions.d/rshm.fish
	@echo "installed under $(DESTDIR)$(PREFIX); run ldconfig if $(LIBDIR) is in the loader's path"

uninstall:
	rm -f $(INSTALLED)
	-rmdir $(D_INC) $(D_CMAKE) $(D_DOC) 2>/dev/null
	-[ "$(PRELOADDIR)" = "$(LIBDIR)" ] || rmdir $(D_PRELOAD) 2>/dev/null

# ---- Debian packages: not part of make test ----
# make deb: dpkg-buildpackage -b (debhelper, debian/) on a copy of the source tree, with the
# machine's Rust toolchain (Debian 12's rustc is older than rshm's minimum); the packages,
# .changes and .buildinfo land in target/deb/, and lintian must find no error and no warning.
# The copy keeps its own target/ from one make deb to the next, so a rebuild is incremental.
# make deb-test installs them, builds a pkg-config C consumer and a CMake C++ consumer
# against them, runs rshm --version, and purges them, leaving nothing.
DEB := target/deb
deb:
	@.ci/deps deb
	@[ "$$(dpkg-parsechangelog -S Version)" = "$(VERSION)" ] \
	    || { echo "make deb: debian/changelog's version is not Cargo.toml's $(VERSION): add an entry"; exit 1; }
	mkdir -p $(DEB)/src && rm -f $(DEB)/*.deb $(DEB)/*.changes $(DEB)/*.buildinfo
	find $(DEB)/src -mindepth 1 -maxdepth 1 ! -name target -exec rm -rf {} +
	git ls-files -z --cached --others --exclude-standard | xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh \
		| tar --null -T - -cf - | tar -xf - -C $(DEB)/src
	cd $(DEB)/src && dpkg-buildpackage -b --no-sign
	lintian --fail-on error,warning --display-info $(DEB)/*.changes
	@echo "make deb: $$(cd $(DEB) && ls *.deb | tr '\n' ' ')in $(DEB)/; lintian: no error, no warning"
deb-test:
	@$(RUN)/deb.sh $(DEB)

# ---- benchmarks: see docs/benchmarks.md ----
bench: $(SHARED)
	@mkdir -p target/bench
	.ci/bench-deps
	$(CC) -std=c11 $(WARN) -O2 -Iinclude benches/calls.c -L$(RELEASE) -lrshm -lm $(RPATH) -o target/bench/calls
	$(CC) -std=c11 $(WARN) -O2 -Iinclude benches/copy.c -L$(RELEASE) -lrshm -lm $(RPATH) -o target/bench/copy
	$(CC) -std=c11 $(WARN) -O2 -Iinclude benches/prefault.c -L$(RELEASE) -lrshm -lm $(RPATH) -o target/bench/prefault
	cd bench && $(CARGO) build --release --quiet
	@echo "== the libc-compatible calls against glibc"; ./target/bench/calls target/bench/calls.csv
	@echo "== checked copies (rshm_write / rshm_read, and the inline view) against memcpy"; ./target/bench/copy target/bench/copy.csv
	@echo "== the first touch of a 1 GiB segment"; ./target/bench/prefault target/bench/prefault.csv
	@echo "== channels and IPC, with iceoryx2, Boost.Interprocess and SysV"; ./bench/target/release/rshm-bench target/bench

clean:
	$(CARGO) clean
	rm -f shmfile
	cd bench && $(CARGO) clean
