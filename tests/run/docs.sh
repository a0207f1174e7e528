#!/bin/sh
# docs.sh LIBDIR FILE...: every ```c and ```cpp block of the Markdown FILEs,
# compiled with -Wall -Wextra -Werror against include/ and LIBDIR/librshm.so
# (a C block as C11 and, unless marked c-only, as C++17 too; a C++ block as
# C++17) and run, each build in a scratch folder of its own and through
# isolated.sh: a snippet that fails to build, exits non-zero, runs over 60 s
# or leaves a SysV object behind fails the test. Run from the source tree.
#
# A block is a complete program unless the line right before its fence is a
# comment that says otherwise (docs/TESTING.md, "Snippets in the docs"):
#   <!-- snippet: body -->           the body of main(): the headers below are
#                                    included first, and `return 0;` follows
#   <!-- snippet: declarations -->   declarations at file scope, after the same
#                                    headers, and an empty main()
#   <!-- snippet: c-only -- WHY -->  a C block that is not valid C++, and why
#   <!-- snippet: illustrative -- WHY --> a ```sh or ```rust block that is not run
#                                    (docs_commands.sh and docs_rust.sh run the others)
# Words combine: <!-- snippet: body c-only -- WHY -->. Compiler messages point
# at the Markdown file and line (#line). A file with body or declarations snippets
# links to TESTING.md#snippets-in-the-docs, so that readers see how they are wrapped.
set -eu
: "${CC:=cc}" "${CXX:=c++}" "${CFLAGS:=-O2 -g}"
[ $# -ge 2 ] || { echo "usage: docs.sh LIBDIR FILE..."; exit 2; }
lib=$(cd "$1" && pwd)
shift
here=$(cd "$(dirname "$0")" && pwd)
root=$(pwd)
out=$root/target/docs
rm -rf "$out"
mkdir -p "$out"
WARN="-Wall -Wextra -Werror"

# The headers a body or a list of declarations is compiled after.
cat > "$out/prelude.h" <<'PRELUDE'
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "rshm.h"
PRELUDE

# Writes each snippet to $out/NAME-LINE.c or .cpp, wrapped as its marker
# says, and lists "SOURCE LANGUAGE C_ONLY FILE:LINE" in $out/list.
awk -v out="$out" '
function fail(message) { printf "docs: %s:%d: %s\n", FILENAME, FNR, message > "/dev/stderr"; failed = 1 }
function wrapped_note() { if (wrapped && !noted) printf "docs: %s: its body or declarations snippets need a visible link to TESTING.md#snippets-in-the-docs, which says how they are wrapped\n", previous > "/dev/stderr"; if (wrapped && !noted) failed = 1 }
FNR == 1 { if (fence != "") fail("the previous file ends inside a fence"); fence = ""; marker = ""; marker_line = 0
           wrapped_note(); wrapped = 0; noted = (FILENAME ~ /TESTING\.md$/); previous = FILENAME }
/TESTING\.md#snippets-in-the-docs/ { noted = 1 }
fence != "" && /^[ \t]*```[ \t]*$/ {
    if (src != "") {
        if (kind == "body") print "return 0;\n}" > src
        if (kind == "declarations") print "int main(void) { return 0; }" > src
        close(src)
    }
    fence = ""; src = ""; next
}
fence != "" { if (src != "") { line = $0; sub("^" indent, "", line); print line > src }; next }
/^<!-- snippet:.*-->[ \t]*$/ { marker = $0; marker_line = FNR; next }
/^[ \t]*```/ {
    lang = $0; sub(/^[ \t]*```/, "", lang); sub(/[ \t]+$/, "", lang)
    indent = $0; sub(/```.*/, "", indent)
    fence = "open"; src = ""
    if (lang ~ /^(c\+\+|C\+\+|cc|cxx|h|hpp|C|C11|c11)$/) fail("write ```c or ```cpp, which the docs test compiles")
    words = ""
    if (marker_line == FNR - 1) {
        words = marker; sub(/^<!-- snippet:[ \t]*/, "", words); sub(/[ \t]*-->[ \t]*$/, "", words)
    } else if (marker_line != 0) {
        fail("a snippet marker must be the line right before a ```c or ```cpp fence")
    }
    marker_line = 0
    if (lang != "c" && lang != "cpp") {
        if (words != "" && words !~ /^illustrative -- ./) fail("before a ```" lang " block, the only marker is <!-- snippet: illustrative -- WHY -->")
        next
    }
    reason = ""
    if (index(words, " -- ")) { reason = substr(words, index(words, " -- ") + 4); words = substr(words, 1, index(words, " -- ") - 1) }
    kind = "program"; c_only = "no"
    if (words ~ /(^| )(body|declarations)( |$)/) wrapped = 1
    n = split(words, word, /[ \t]+/)
    for (i = 1; i <= n; i++) {
        if (word[i] == "body" || word[i] == "declarations") kind = word[i]
        else if (word[i] == "c-only") c_only = "yes"
        else if (word[i] != "") fail("unknown snippet word \"" word[i] "\" (body, declarations, c-only)")
    }
    if (c_only == "yes" && lang != "c") fail("c-only marks a ```c block")
    if (c_only == "yes" && reason == "") fail("say why after c-only: <!-- snippet: c-only -- WHY -->")
    name = FILENAME; sub(/^.*\//, "", name); sub(/\.md$/, "", name)
    src = out "/" name "-" FNR "." lang
    if (kind != "program") printf "#include \"%s/prelude.h\"\n", out > src
    if (kind == "body") print "int main(void) {" > src
    printf "#line %d \"%s\"\n", FNR + 1, FILENAME > src
    printf "%s %s %s %s:%d\n", src, lang, c_only, FILENAME, FNR + 1 > (out "/list")
    next
}
marker_line != 0 && marker_line == FNR - 1 { fail("a snippet marker must be the line right before a ```c or ```cpp fence"); marker_line = 0 }
END { if (fence != "") fail("a fence is not closed"); wrapped_note(); exit failed }
' "$@"
[ -s "$out/list" ] || { echo "docs: no C or C++ snippet found in $*"; exit 1; }

build() { # build LANGUAGE SOURCE BINARY
    case $1 in
    c) "$CC" -std=c11 $WARN $CFLAGS -I"$root/include" "$2" -L"$lib" -lrshm -Wl,-rpath,"$lib" -o "$3" ;;
    cpp) "$CXX" -std=c++17 $WARN $CFLAGS -I"$root/include" -x c++ "$2" -x none -L"$lib" -lrshm -Wl,-rpath,"$lib" -o "$3" ;;
    esac
}

run() { # run BINARY WHERE: in a scratch folder of its own, through isolated.sh
    mkdir "$1.run"
    if ! (cd "$1.run" && timeout 60 "$here/isolated.sh" "$1" < /dev/null > output 2>&1); then
        echo "docs: $2: the snippet failed when run ($(basename "$1")); its output:"
        sed 's/^/  /' "$1.run/output"
        exit 1
    fi
}

programs=0 snippets=0
while read -r src lang c_only where; do
    snippets=$((snippets + 1))
    bin=${src%.*}
    case $lang in
    c)
        build c "$src" "$bin.c.bin" || { echo "docs: $where: does not compile as C11"; exit 1; }
        run "$bin.c.bin" "$where"
        as="C11" programs=$((programs + 1))
        if [ "$c_only" = no ]; then
            build cpp "$src" "$bin.cpp.bin" || { echo "docs: $where: does not compile as C++17 (or mark it c-only, saying why)"; exit 1; }
            run "$bin.cpp.bin" "$where"
            as="C11 and C++17" programs=$((programs + 1))
        fi ;;
    cpp)
        build cpp "$src" "$bin.cpp.bin" || { echo "docs: $where: does not compile as C++17"; exit 1; }
        run "$bin.cpp.bin" "$where"
        as="C++17" programs=$((programs + 1)) ;;
    esac
    echo "docs: $where: built as $as and ran"
done < "$out/list"
echo "docs: $snippets snippets, $programs programs built with -Wall -Wextra -Werror and run; none left a SysV object"
