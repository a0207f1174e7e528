#!/bin/sh
# The examples: the ported demo prints exactly the original's lines; writer and
# reader pass a message between processes; the C++ example, the semaphore demo
# and the channel demo work. Each in an IPC namespace of its own.
# Usage: examples.sh EXAMPLES_DIR SEED_OUTPUT
set -eu
examples=$(cd "$1" && pwd) seed=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
isolated=$(cd "$(dirname "$0")" && pwd)/isolated.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
touch shmfile
"$isolated" "$examples/shm_example" > demo.out
diff -u "$seed" demo.out
echo "shm_example: output identical to the original demo's"
"$isolated" sh -c "'$examples/writer' shmfile 'a message between processes' > writer.out && '$examples/reader' shmfile > reader.out"
grep -q "^reader: a message between processes$" reader.out
cat writer.out reader.out
"$isolated" "$examples/cpp_example" > cpp.out
grep -q "^read back: Hello from C++!$" cpp.out && grep -q "^caught RSHM_ERR_OUT_OF_BOUNDS" cpp.out
cat cpp.out
"$isolated" "$examples/sem_demo" > sem.out
diff -u "$seed" sem.out
echo "sem_demo: the demo's three lines, in order, from two processes synchronised by a semaphore"
"$isolated" "$examples/channel_demo"
