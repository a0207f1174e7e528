# rshm: the one entry point. `make run` builds and runs the ported demo,
# `make test` runs every test, `make install` installs. See README.md.

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
# cargo-c's rule (build.rs gives the library the same): 0.x → librshm.so.0.MINOR, then librshm.so.MAJOR.
SONAME   := librshm.so.$(if $(filter 0,$(MAJOR)),0.$(MINOR),$(MAJOR))
PRELOAD  := $(RELEASE)/librshm_preload.so
# Run tests in a private IPC namespace when we may (root, or user namespaces);
# otherwise they clean up after themselves in the current one.
PRIVATE_IPC := $(shell unshare -i true 2>/dev/null && echo "unshare -i")
RPATH    := -Wl,-rpath,'$$ORIGIN/../release'

PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     := $(DESTDIR)$(PREFIX)/bin
LIBDIR     := $(DESTDIR)$(PREFIX)/lib
INCDIR     := $(DESTDIR)$(PREFIX)/include/rshm
PCDIR      := $(LIBDIR)/pkgconfig
INSTALLED  := $(LIBDIR)/librshm.so.$(VERSION) $(LIBDIR)/$(SONAME) $(LIBDIR)/librshm.so $(LIBDIR)/librshm.a \
              $(LIBDIR)/librshm_preload.so $(INCDIR)/rshm.h $(INCDIR)/rshm_compat.h $(PCDIR)/rshm.pc $(BINDIR)/rshm

.PHONY: all lib header run test examples ctests check-header header-test cargo-test demo-test compat-test \
        preload-test install uninstall install-test clean bench fuzz fuzz-differential fuzz-c \
        valgrind-test stress-test stress miri

all: lib examples

# The libraries, the preload library and the command (not the header tool).
# The C library is the rshm-capi crate, whose outputs are librshm_capi.*: librshm.* name them.
lib:
	@$(CARGO) build --release --quiet
	@ln -sf librshm_capi.so $(RELEASE)/librshm.so
	@ln -sf librshm_capi.a $(RELEASE)/librshm.a
	@ln -sf librshm.so $(RELEASE)/$(SONAME)

$(RELEASE)/librshm.so $(RELEASE)/librshm.a $(PRELOAD): lib

examples: lib $(EXAMPLES)/shm_example $(EXAMPLES)/writer $(EXAMPLES)/reader $(EXAMPLES)/cpp_example \
          $(EXAMPLES)/sem_demo $(EXAMPLES)/channel_demo

$(EXAMPLES)/%: c_examples/%.c c_examples/message.h include/rshm.h $(RELEASE)/librshm.so
	@mkdir -p $(EXAMPLES)
	@$(CC) -std=c11 $(WARN) $(CFLAGS) -Iinclude $< -L$(RELEASE) -lrshm $(RPATH) -o $@

$(EXAMPLES)/%: c_examples/%.cpp include/rshm.h $(RELEASE)/librshm.so
	@mkdir -p $(EXAMPLES)
	@$(CXX) -std=c++17 $(WARN) $(CFLAGS) -Iinclude $< -L$(RELEASE) -lrshm $(RPATH) -o $@

# Build the library and run the ported demo where ftok finds its "shmfile".
run: examples
	@cd target && touch shmfile && ./examples/shm_example

# System libraries the static library needs, as rustc reports them.
NATIVE_STATIC_LIBS = $(shell $(CARGO) rustc --release --quiet -p rshm-capi --lib --crate-type staticlib -- --print native-static-libs 2>&1 | sed -n 's/.*native-static-libs: //p' | tail -1)

# Every C test against the shared library and against the static one.
ctests: lib
	@mkdir -p $(CTESTS)
	@set -e; libs="$(NATIVE_STATIC_LIBS)"; for src in tests/c/*.c; do \
		name=$$(basename $$src .c); \
		$(CC) -std=c11 $(WARN) $(CFLAGS) -pthread -Iinclude -Itests/c $$src -L$(RELEASE) -lrshm $(RPATH) -o $(CTESTS)/$$name.shared; \
		$(CC) -std=c11 $(WARN) $(CFLAGS) -pthread -Iinclude -Itests/c $$src $(RELEASE)/librshm.a $$libs -o $(CTESTS)/$$name.static; \
	done
	@set -e; for t in $(CTESTS)/*.shared $(CTESTS)/*.static; do \
		echo "== $$t"; $(PRIVATE_IPC) $$t; \
	done

# Regenerate include/rshm.h (and the docs' table of statuses) from the sources, on purpose.
header:
	@$(CARGO) run --release --quiet -p rshm-header -- include/rshm.h

# The committed header must be what the sources generate.
check-header:
	@mkdir -p target/header
	@$(CARGO) run --release --quiet -p rshm-header -- target/header/rshm.h
	@diff -u include/rshm.h target/header/rshm.h || { \
		echo "include/rshm.h is stale: run make header and commit it."; exit 1; }

# rshm.h compiles alone, warning-free, as C89 to C17 and as C++11 to C++20.
header-test: lib
	@set -e; for std in c89 c99 c11 c17; do \
		$(CC) -std=$$std -pedantic $(WARN) -Iinclude -fsyntax-only tests/header/use_header.c; done
	@set -e; for std in c++11 c++14 c++17 c++20; do \
		$(CXX) -std=$$std -pedantic $(WARN) -Iinclude -fsyntax-only -x c++ tests/header/use_header.c; done
	@echo "rshm.h: compiles as C89, C99, C11, C17, C++11, C++14, C++17 and C++20"

# Rust tests, including the differential fuzzer (RSHM_FUZZ_CASES sequences, 20,000 by default).
cargo-test: lib
	RSHM_PRELOAD_LIB=$(abspath $(PRELOAD)) $(PRIVATE_IPC) $(CARGO) test --release --workspace --quiet

# The long fuzzing runs: FUZZ_CASES differential sequences through glibc, rshm_
# and the preload, then FUZZ_SECONDS of libFuzzer on the parsing of C arguments.
FUZZ_CASES ?= 1000000
FUZZ_SECONDS ?= 120
fuzz: fuzz-differential fuzz-c

fuzz-differential: lib
	RSHM_FUZZ_CASES=$(FUZZ_CASES) RSHM_PRELOAD_LIB=$(abspath $(PRELOAD)) $(PRIVATE_IPC) \
		$(CARGO) test --release --quiet --test fuzz_differential -- --nocapture

# cargo fuzz needs a nightly toolchain; it is installed here when missing.
fuzz-c:
	@command -v cargo-fuzz > /dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && $(CARGO) +nightly fuzz run c_arguments -- -max_total_time=$(FUZZ_SECONDS)

# The ported demo must print exactly the original's lines; the other examples must work.
demo-test: examples
	@cd target && touch shmfile && ./examples/shm_example > demo.out && diff -u ../$(SEED) demo.out
	@echo "shm_example: output identical to the original demo's"
	@cd target && $(PRIVATE_IPC) sh -c './examples/writer shmfile "a message between processes" > writer.out && ./examples/reader shmfile > reader.out'
	@grep -q "^reader: a message between processes$$" target/reader.out && cat target/writer.out target/reader.out
	@cd target && ./examples/cpp_example > cpp.out && grep -q "^read back: Hello from C++!$$" cpp.out && grep -q "^caught RSHM_ERR_OUT_OF_BOUNDS" cpp.out && cat cpp.out
	@cd target && $(PRIVATE_IPC) ./examples/sem_demo > sem.out && diff -u ../$(SEED) sem.out && echo "sem_demo: the demo's three lines, in order, from two processes synchronised by a semaphore"
	@cd target && $(PRIVATE_IPC) ./examples/channel_demo

# The original demo, unchanged, through rshm_compat.h: it must call rshm alone.
compat-test: lib
	@mkdir -p $(CTESTS)
	@! test -f ../shared/seed/shm_example.c || cmp tests/seed/shm_example.c ../shared/seed/shm_example.c
	@$(CC) -include rshm_compat.h -Iinclude tests/seed/shm_example.c -L$(RELEASE) -lrshm $(RPATH) -o $(CTESTS)/seed_compat
	@$(CXX) -std=c++17 $(WARN) -include rshm_compat.h -Iinclude -x c++ tests/seed/shm_example.c -L$(RELEASE) -lrshm $(RPATH) -o $(CTESTS)/seed_compat_cpp
	@set -e; for bin in seed_compat seed_compat_cpp; do \
		! nm -u $(CTESTS)/$$bin | grep -qwE 'ftok|shmget|shmat|shmdt|shmctl' || { echo "$$bin still calls libc's functions"; exit 1; }; \
		test $$(nm -u $(CTESTS)/$$bin | grep -cwE 'rshm_(ftok|shmget|shmat|shmdt|shmctl)') -eq 5; \
		(cd target && touch shmfile && ../$(CTESTS)/$$bin) | diff -u $(SEED) -; \
	done
	@echo "rshm_compat.h: the unchanged demo calls only rshm (nm) and prints its three lines, as C and as C++"

# Unchanged binaries under LD_PRELOAD: the demo with its trace, glibc's results
# (differential test, default and strict), util-linux's ipc tools, the leak check.
preload-test: lib
	@mkdir -p $(CTESTS)
	@$(CC) tests/seed/shm_example.c -o $(CTESTS)/seed_plain
	@$(CC) -std=c11 $(WARN) $(CFLAGS) -DRSHM_DIFF_PRELOAD -Itests/c tests/c/differential.c -ldl -o $(CTESTS)/differential.preload
	@$(CC) -std=c11 $(WARN) $(CFLAGS) tests/preload/leaky.c -o $(CTESTS)/leaky
	@$(CC) -std=c11 $(WARN) $(CFLAGS) -pthread tests/preload/threads.c -o $(CTESTS)/preload_threads
	@PRELOAD=$(abspath $(PRELOAD)) CTESTS=$(abspath $(CTESTS)) SEED=$(abspath $(SEED)) \
		$(PRIVATE_IPC) sh tests/preload/run.sh

install: lib
	install -d $(BINDIR) $(LIBDIR) $(INCDIR) $(PCDIR)
	install -m 0755 $(RELEASE)/rshm $(BINDIR)/rshm
	install -m 0755 $(RELEASE)/librshm.so $(LIBDIR)/librshm.so.$(VERSION)
	ln -sf librshm.so.$(VERSION) $(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(LIBDIR)/librshm.so
	install -m 0644 $(RELEASE)/librshm.a $(LIBDIR)/librshm.a
	install -m 0755 $(PRELOAD) $(LIBDIR)/librshm_preload.so
	install -m 0644 include/rshm.h include/rshm_compat.h $(INCDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@NATIVE_STATIC_LIBS@|$(NATIVE_STATIC_LIBS)|' \
		rshm.pc.in > $(PCDIR)/rshm.pc
	@echo "installed under $(DESTDIR)$(PREFIX); run ldconfig if $(PREFIX)/lib is in the loader's path"

uninstall:
	rm -f $(INSTALLED)
	-rmdir $(INCDIR) 2>/dev/null

# Install into a scratch prefix, build against it with pkg-config, uninstall,
# and check that nothing is left.
install-test: lib
	@MAKE="$(MAKE)" CC="$(CC)" $(PRIVATE_IPC) sh tests/install/run.sh

# memcheck on the C tests, the examples, the preload library and the Rust unit tests.
valgrind-test: ctests examples preload-test
	@set -e; for t in $(CTESTS)/*.shared; do $(PRIVATE_IPC) sh tests/valgrind.sh $$t > /dev/null && echo "valgrind: $$(basename $$t): clean"; done
	@cd target && touch shmfile && sh ../tests/valgrind.sh ./examples/shm_example > /dev/null && echo "valgrind: shm_example: clean"
	@cd target && $(PRIVATE_IPC) sh -c 'sh ../tests/valgrind.sh ./examples/writer shmfile hi && sh ../tests/valgrind.sh ./examples/reader shmfile' > /dev/null && echo "valgrind: writer, reader: clean"
	@cd target && sh ../tests/valgrind.sh ./examples/cpp_example > /dev/null && echo "valgrind: cpp_example: clean"
	@cd target && LD_PRELOAD=$(abspath $(PRELOAD)) RSHM_TRACE=1 sh ../tests/valgrind.sh ./ctests/seed_plain > /dev/null 2>&1 && echo "valgrind: the demo under the preload: clean"
	@bin=$$($(CARGO) test --release -p rshm --lib --no-run --message-format=json 2>/dev/null | sed -n 's/.*"executable":"\([^"]*\)".*"fresh".*/\1/p' | grep '/rshm-' | head -1); \
		test -n "$$bin" && $(PRIVATE_IPC) sh tests/valgrind.sh $$bin --test-threads=1 > /dev/null && echo "valgrind: Rust unit tests: clean"

# Many processes on one segment (seqlock and checksums): no torn or lost write.
STRESS_PROCS ?= 32
STRESS_SECONDS ?= 2
stress-test: lib
	@mkdir -p $(CTESTS)
	@$(CC) -std=c11 $(WARN) -O2 -Iinclude tests/stress/stress.c -L$(RELEASE) -lrshm $(RPATH) -o $(CTESTS)/stress
	@$(PRIVATE_IPC) $(CTESTS)/stress $(STRESS_PROCS) $(STRESS_SECONDS)

# The long versions.
stress:
	@$(MAKE) --no-print-directory stress-test STRESS_PROCS=64 STRESS_SECONDS=60

# Miri on the Rust core's logic (needs a nightly toolchain with the miri component).
miri:
	MIRIFLAGS="-Zmiri-disable-isolation -Zmiri-permissive-provenance" $(CARGO) +nightly miri test --lib

test: check-header header-test cargo-test ctests demo-test compat-test preload-test install-test stress-test valgrind-test
	@left=$$(ipcs -m | awk 'NR>3 && NF>=6' | wc -l); test "$$left" -eq 0 || { ipcs -m; echo "tests left $$left segment(s)"; exit 1; }
	@echo "make test: all passed"

# Side-by-side benchmarks (see README, Benchmarks): the five calls against
# glibc, rshm_read/rshm_write against memcpy (both in C, against librshm.so),
# then channel round trips and throughput against pipes, sockets, SysV queues
# and semaphores and a spin on one cache line (bench/, a crate make test does
# not build). Writes target/bench/results.csv and target/bench/chart.png.
bench: lib
	@mkdir -p target/bench
	@$(CC) -std=c11 $(WARN) -O2 -Iinclude benches/calls.c -L$(RELEASE) -lrshm $(RPATH) -o target/bench/calls
	@$(CC) -std=c11 $(WARN) -O2 -Iinclude benches/copy.c -L$(RELEASE) -lrshm $(RPATH) -o target/bench/copy
	@cd bench && $(CARGO) build --release --quiet
	@echo "== the five calls against glibc"; ./target/bench/calls target/bench/calls.csv
	@echo "== rshm_write / rshm_read against memcpy"; ./target/bench/copy target/bench/copy.csv
	@echo "== channels and IPC"; ./bench/target/release/rshm-bench target/bench

clean:
	$(CARGO) clean
	rm -f shmfile
	cd bench && $(CARGO) clean
