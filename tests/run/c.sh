#!/bin/sh
# c.sh BINARY...: every C test, each in an IPC namespace of its own.
set -eu
here=$(dirname "$0")
for test in "$@"; do
    echo "== $test"
    "$here/isolated.sh" "$test"
done
