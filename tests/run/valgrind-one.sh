#!/bin/sh
# Runs programs under valgrind memcheck: any invalid access or use of
# uninitialised memory fails (exit code 99), and so does any leak record in
# the program's own process. Leaks are not judged in forked children: a child
# that _exits still "loses" whatever its parent held only on its stack.
# Threads take turns fairly (--fair-sched=yes): valgrind runs one at a time,
# and by default a thread in a tight loop of syscalls can keep the turn and
# starve the others for minutes (fork_children's churning threads did).
# Usage: valgrind-one.sh PROGRAM [ARGS...]
set -u
log=$(mktemp)
trap 'rm -f "$log"' EXIT
valgrind -q --num-callers=50 --error-exitcode=99 --child-silent-after-fork=yes --fair-sched=yes \
    --suppressions="$(dirname "$0")/../valgrind.supp" \
    --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=none \
    --log-file="$log" "$@"
status=$?
if [ $status -ne 0 ] || grep -qE "are (definitely|indirectly) lost" "$log"; then
    cat "$log" >&2
    echo "valgrind: $* failed (exit $status)" >&2
    exit 1
fi
echo "valgrind: $(basename "$1"): clean"
