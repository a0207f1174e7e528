#!/bin/sh
# The C++ layer, include/rshm.hpp, as installed: make install into a scratch prefix, then,
# with the flags pkg-config gives and -Wall -Wextra -Werror -pedantic (and -Wshadow
# -Wconversion -Wsign-conversion -Wold-style-cast -Wzero-as-null-pointer-constant, which the header must pass too):
#   tests/cpp/hpp_test.cpp      as C++17 and as C++20 (std::span), and once more with
#                               AddressSanitizer, UndefinedBehaviorSanitizer and leak
#                               detection (librshm, in Rust, is not instrumented, but the
#                               handles it allocates go through the checked malloc: a handle
#                               the C++ layer fails to close is reported as a leak)
#   tests/cpp/nothrow_test.cpp  with -fno-exceptions, as C++17 and as C++20
# each run in a scratch folder and an IPC namespace of its own (isolated.sh); each prints
# "N passed, M failed". Run from the source tree by make cpp-test.
set -eu
: "${CXX:=c++}"
test_name=cpp-test
. "$(dirname "$0")/scratch_install.sh"
[ -f "$prefix/include/rshm/rshm.hpp" ] || fail "make install did not install include/rshm/rshm.hpp"
cflags=$(pkg-config --cflags rshm)
libs="$(pkg-config --libs rshm) -Wl,-rpath,$prefix/lib"
WARN="-Wall -Wextra -Werror -pedantic -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast -Wzero-as-null-pointer-constant"

build() { # build BINARY SOURCE FLAGS...
    bin=$1 source=$2
    shift 2
    "$CXX" "$@" $WARN $cflags "$root/tests/cpp/$source" $libs -o "$work/$bin" || fail "$bin: does not build"
}
run() { # run BINARY: in the scratch folder, in an IPC namespace of its own
    (cd "$work" && timeout 120 "$here/isolated.sh" "./$1") || fail "$1: failed"
}

for std in c++17 c++20; do
    build "hpp_test.$std" hpp_test.cpp -std=$std -O2 -g -pthread
    run "hpp_test.$std"
    build "nothrow_test.$std" nothrow_test.cpp -std=$std -O2 -g -fno-exceptions
    run "nothrow_test.$std"
done

build hpp_test.sanitized hpp_test.cpp -std=c++20 -O1 -g -pthread -fno-omit-frame-pointer \
    -fsanitize=address,undefined -fno-sanitize-recover=all
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
run hpp_test.sanitized

echo "cpp: rshm.hpp as installed, C++17 and C++20 with -Werror -pedantic, ASan+UBSan with leak detection, -fno-exceptions: all passed"
