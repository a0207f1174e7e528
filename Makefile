# rshm: the one entry point. `make run` builds and runs the ported demo,
# `make test` runs every test. See README.md.

CARGO    ?= cargo
CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror
RELEASE  := target/release
EXAMPLES := target/examples
CTESTS   := target/ctests
SONAME   := librshm.so.$(shell sed -n 's/^version = "\([0-9]*\)\..*/\1/p' Cargo.toml | head -1)
# Run tests in a private IPC namespace when we may (root, or user namespaces);
# otherwise they clean up after themselves in the current one.
PRIVATE_IPC := $(shell unshare -i true 2>/dev/null && echo "unshare -i")
RPATH    := -Wl,-rpath,'$$ORIGIN/../release'

.PHONY: all lib run test examples ctests check-header cargo-test demo-test clean bench

all: lib examples

# The libraries and the generated header (build.rs writes include/rshm.h).
lib:
	@$(CARGO) build --release --quiet
	@ln -sf librshm.so $(RELEASE)/$(SONAME)

$(RELEASE)/librshm.so $(RELEASE)/librshm.a include/rshm.h: lib

examples: lib $(EXAMPLES)/shm_example $(EXAMPLES)/writer $(EXAMPLES)/reader $(EXAMPLES)/cpp_example

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
NATIVE_STATIC_LIBS = $(shell $(CARGO) rustc --release --quiet --lib --crate-type staticlib -- --print native-static-libs 2>&1 | sed -n 's/.*native-static-libs: //p' | tail -1)

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

# The committed header must be what the sources generate, and compile alone.
check-header: lib
	@echo '#include "rshm.h"' | $(CC) -std=c11 $(WARN) -pedantic -Iinclude -x c -fsyntax-only -
	@echo '#include "rshm.h"' | $(CXX) -std=c++17 $(WARN) -pedantic -Iinclude -x c++ -fsyntax-only -
	@git diff --exit-code --stat -- include/rshm.h || { \
		echo "include/rshm.h is stale: the sources generate a different header; commit the regenerated one."; exit 1; }

cargo-test:
	$(PRIVATE_IPC) $(CARGO) test --release --quiet

# The ported demo must print exactly the original's lines; the other examples must work.
demo-test: examples
	@cd target && touch shmfile && ./examples/shm_example > demo.out && diff -u ../c_examples/shm_example.expected demo.out
	@echo "shm_example: output identical to the original demo's"
	@cd target && $(PRIVATE_IPC) sh -c './examples/writer shmfile "a message between processes" > writer.out && ./examples/reader shmfile > reader.out' 
	@grep -q "^reader: a message between processes$$" target/reader.out && cat target/writer.out target/reader.out
	@cd target && ./examples/cpp_example > cpp.out && grep -q "^read back: Hello from C++!$$" cpp.out && grep -q "^caught RSHM_ERR_OUT_OF_BOUNDS" cpp.out && cat cpp.out

test: check-header cargo-test ctests demo-test
	@left=$$(ipcs -m | awk 'NR>3 && NF>=6' | wc -l); test "$$left" -eq 0 || { ipcs -m; echo "tests left $$left segment(s)"; exit 1; }
	@echo "make test: all passed"

# Side-by-side benchmarks against glibc; ratios are rshm/glibc (1.00 = same cost).
bench: lib
	@mkdir -p target/bench
	@$(CC) -std=c11 $(WARN) -O2 -Iinclude benches/calls.c -L$(RELEASE) -lrshm $(RPATH) -o target/bench/calls
	@./target/bench/calls | tee target/bench/calls.txt

clean:
	$(CARGO) clean
	rm -f shmfile
