#!/bin/sh
# The original demo, unchanged, through rshm_compat.h, as C and as C++: it
# imports only rshm's five calls (nm) and prints its three lines.
# Usage: compat.sh SEED_OUTPUT BINARY...
set -eu
seed=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
isolated=$(cd "$(dirname "$0")" && pwd)/isolated.sh
[ ! -f ../shared/seed/shm_example.c ] || cmp tests/seed/shm_example.c ../shared/seed/shm_example.c
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for bin in "$@"; do
    bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
    ! nm -u "$bin" | grep -qwE 'ftok|shmget|shmat|shmdt|shmctl' || { echo "$bin still calls libc's functions"; exit 1; }
    [ "$(nm -u "$bin" | grep -cwE 'rshm_(ftok|shmget|shmat|shmdt|shmctl)')" -eq 5 ]
    (cd "$work" && touch shmfile && "$isolated" "$bin") | diff -u "$seed" -
done
echo "rshm_compat.h: the unchanged demo calls only rshm (nm) and prints its three lines, as C and as C++"
