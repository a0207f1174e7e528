#!/bin/sh
# docs_commands.sh LIBDIR PREFIX FILE...: every ```sh block of the Markdown FILEs, run as
# printed. A block whose lines start with "$ " is a session: each such line is a command,
# and the lines after it are what it prints (stdout and stderr), compared after ids, pids,
# keys, addresses and other numbers are normalised (every 0x... and every run of digits
# becomes N, and every run of spaces one space, as table columns widen with the numbers);
# a printed line "..." stands for any lines (none too), for what varies with the machine.
# Each command must succeed (a session shows a failure with `; echo "exit code $?"`).
# Another block is a list of commands, each of which must succeed. A "$ " line in a plain
# ``` block fails: mark it illustrative or fence it as ```sh. Each block starts in a fresh
# IPC namespace (ids start at 0), where objects it needs are made by commands it shows
# (ipcmk, say), and it must remove them; HOME is its scratch folder.
# Each block runs in a scratch folder of its own, through isolated.sh, holding what a
# reader has in a checkout: include/, tests/, c_examples/ and target/release/ (LIBDIR), the
# rshm command on PATH, legacy.c (the original demo, tests/seed/shm_example.c) and app.c (a
# program on rshm.h); PKG_CONFIG_PATH and CMAKE_PREFIX_PATH name PREFIX, a scratch
# `make install`. A block right after <!-- snippet: illustrative -- WHY --> is not run.
set -eu
[ $# -ge 3 ] || { echo "usage: docs_commands.sh LIBDIR PREFIX FILE..."; exit 2; }
lib=$(cd "$1" && pwd)
prefix=$(cd "$2" && pwd)
shift 2
here=$(cd "$(dirname "$0")" && pwd)
root=$(pwd)
out=$root/target/docs-commands
rm -rf "$out"
mkdir -p "$out"

# Writes each block to $out/N.block and "N FILE:LINE" to $out/list. A "$ " line in a plain
# ``` block (not marked illustrative) fails: it reads as a session, yet nothing would run it.
awk -v out="$out" 'BEGIN { skip = -9 }
FNR == 1 { fence = 0; src = ""; skip = -9 }
!fence && /^<!-- snippet: illustrative -- .*-->[ \t]*$/ { skip = FNR; next }
fence && /^```/ { if (src != "") close(src); src = ""; fence = 0; next }
/^```/ { lang = $0; sub(/^```/, "", lang); sub(/[ \t]+$/, "", lang); fence = 1; marked = (skip == FNR - 1)
         if (lang == "sh" && !marked) { n++; src = out "/" n ".block"; printf "" > src; printf "%d %s:%d\n", n, FILENAME, FNR + 1 > (out "/list") }
         next }
fence && lang == "" && !marked && /^\$ / {
    printf "docs: %s:%d: a \"$ \" command in a plain ``` block, which nothing runs: fence it as ```sh to run it as printed, or put <!-- snippet: illustrative -- WHY --> before it\n", FILENAME, FNR
    failed = 1 }
src != "" { print > src }
END { exit failed }
' "$@"
[ -s "$out/list" ] || { echo "docs: no \`\`\`sh block found in $*"; exit 1; }

blocks=0
while read -r n where; do
    dir=$out/$n.run
    mkdir -p "$dir/target"
    ln -s "$root/include" "$root/tests" "$root/c_examples" "$dir/"
    ln -s "$lib" "$dir/target/release"
    cp "$root/tests/seed/shm_example.c" "$dir/legacy.c"
    cat > "$dir/app.c" <<'APP'
#include <stdio.h>
#include "rshm.h"
int main(void) { printf("rshm %s\n", rshm_version()); return 0; }
APP
    # The block as a script: sessions compare each command's output with the printed one.
    if grep -q '^\$ ' "$out/$n.block"; then
        awk -v dir="$dir" '
            function flush() { if (cmd != "") { close(want); print "check " q(cmd) " " q(want) } }
            function q(s) { gsub(/\047/, "\047\\\047\047", s); return "\047" s "\047" }
            /^\$ / { flush(); cmd = substr($0, 3); k++; want = dir "/expected." k; printf "" > want; next }
            cmd != "" { print > want }
            END { flush() }' "$out/$n.block" > "$dir/script"
    else
        awk 'BEGIN { c = "" } /\\$/ { c = c substr($0, 1, length($0) - 1) " "; next }
             { c = c $0; if (c !~ /^[ \t]*(#.*)?$/) { gsub(/\047/, "\047\\\047\047", c); print "run \047" c "\047" }; c = "" }' \
            "$out/$n.block" > "$dir/script"
    fi
    cat > "$dir/prologue" <<PROLOGUE
set -u
export HOME="$dir" PATH="$lib:\$PATH" PKG_CONFIG_PATH="$prefix/lib/pkgconfig" CMAKE_PREFIX_PATH="$prefix"
normalise() { sed -E -e 's/0x[0-9a-fA-F]+/N/g' -e 's/[0-9]+/N/g' -e 's/ +/ /g'; }
run() { printf "%s\\n" "\$ \$1" >> log; sh -c "\$1" >> log 2>&1 || { echo "failed: \$1"; cat log; exit 1; }; }
# matches WANT GOT: each line of WANT is the line of GOT, or a line "..." any lines (none too).
matches() {
    awk 'function m(i, j,  k) {
             if (i > nw) return j > ng
             if (w[i] == "...") { for (k = j; k <= ng + 1; k++) if (m(i + 1, k)) return 1; return 0 }
             return j <= ng && w[i] == g[j] && m(i + 1, j + 1)
         }
         FILENAME == ARGV[1] { w[++nw] = \$0; next } { g[++ng] = \$0 } END { exit !m(1, 1) }' "\$1" "\$2"
}
check() {
    printf "%s\\n" "\$ \$1" >> log
    sh -c "\$1" > got 2>&1 || { echo "failed: \$1"; cat got; exit 1; }
    cat got >> log
    normalise < "\$2" > want.n; normalise < got > got.n
    matches want.n got.n || { diff -u want.n got.n > diff.out; echo "the output of: \$1"; echo "differs from the printed one (numbers normalised; ... stands for any lines):"; cat diff.out; exit 1; }
}
PROLOGUE
    if ! (cd "$dir" && timeout 300 "$here/isolated.sh" sh -c '. ./prologue; . ./script' < /dev/null > output 2>&1); then
        echo "docs: $where: a command does not work as printed:"
        sed 's/^/  /' "$dir/output"
        exit 1
    fi
    echo "docs: $where: ran as printed"
    blocks=$((blocks + 1))
done < "$out/list"
echo "docs: $blocks blocks of commands ran as printed; none left a SysV object"
