#!/bin/sh
# The committed include/rshm.h and the table of statuses in docs/c-api.md are
# what the sources generate; rshm.h compiles alone, warning-free, as C89 to C17
# and C++11 to C++20.
set -eu
: "${CC:=cc}" "${CXX:=c++}"
out=target/header
mkdir -p "$out"
cp docs/c-api.md "$out/c-api.md"
cargo run --release --quiet -p rshm-header -- "$out/rshm.h" "$out/c-api.md"
diff -u include/rshm.h "$out/rshm.h" || { echo "include/rshm.h is stale: run make header and commit it"; exit 1; }
diff -u docs/c-api.md "$out/c-api.md" || { echo "docs/c-api.md's table of statuses is stale: run make header and commit it"; exit 1; }
for std in c89 c99 c11 c17; do
    for use in tests/header/use_header.c tests/header/use_inline.c; do
        "$CC" -std=$std -pedantic -Wall -Wextra -Werror -Iinclude -fsyntax-only "$use"
    done
done
for std in c++11 c++14 c++17 c++20; do
    for use in tests/header/use_header.c tests/header/use_inline.c; do
        "$CXX" -std=$std -pedantic -Wall -Wextra -Werror -Iinclude -fsyntax-only -x c++ "$use"
    done
done
# Every name the public headers define is prefixed (the checker is checked: a planted leak fails it).
python3 tests/run/header_names.py $(ls include/*.h include/*.hpp 2> /dev/null)
planted=$(mktemp -d)
trap 'rm -rf "$planted"' EXIT
cp include/rshm.h "$planted/"
printf '#include "rshm.h"\n#define CAPACITY 1\nenum rshm_e { RSHM_A, LEAKED };\nint helper(void);\n' > "$planted/planted.h"
! python3 tests/run/header_names.py "$planted/planted.h" > /dev/null || { echo "header_names.py missed a planted name"; exit 1; }
echo "public headers: every macro, type, tag, constant and function they define starts with rshm_ or RSHM_"
echo "rshm.h and the docs' table of statuses: as generated; rshm.h and rshm_inline.h compile as C89, C99, C11, C17, C++11, C++14, C++17 and C++20"
