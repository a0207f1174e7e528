#!/bin/sh
# The preload library on unchanged binaries (make preload-test runs this in a
# private IPC namespace, with PRELOAD, CTESTS and SEED set).
set -eu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
touch shmfile
fail() { echo "preload-test: $*"; for f in err out; do [ -f $f ] && sed 's/^/  /' $f; done; exit 1; }

# 1. The demo, built with plain gcc: its three lines on stdout, five trace lines on stderr.
LD_PRELOAD=$PRELOAD RSHM_TRACE=1 "$CTESTS/seed_plain" > out 2> err
diff -u "$SEED" out || fail "the demo's output differs"
[ "$(wc -l < err)" -eq 5 ] || fail "want five trace lines"
[ "$(sed -n 's/^rshm\[[0-9]*\]: \([a-z]*\)(.*/\1/p' err | tr '\n' ' ')" = "ftok shmget shmat shmdt shmctl " ] \
    || fail "want the five calls in order"
grep -q '^rshm\[[0-9]*\]: ftok(path="shmfile", proj_id=65) = 0x41[0-9a-f]\{6\}$' err || fail "ftok line"
grep -q '^rshm\[[0-9]*\]: shmget(key=0x41[0-9a-f]\{6\}, size=1024, flags=IPC_CREAT|0666) = [0-9]*$' err || fail "shmget line"
grep -q '^rshm\[[0-9]*\]: shmctl(shmid=[0-9]*, cmd=IPC_RMID, buf=NULL) = 0$' err || fail "shmctl line"

# 2. RSHM_TRACE=/path appends there and leaves stderr alone; no RSHM_TRACE, no output.
LD_PRELOAD=$PRELOAD RSHM_TRACE=$work/trace.log "$CTESTS/seed_plain" > out 2> err
LD_PRELOAD=$PRELOAD RSHM_TRACE=$work/trace.log "$CTESTS/seed_plain" > out 2>> err
[ ! -s err ] || fail "tracing to a file wrote to stderr"
[ "$(wc -l < trace.log)" -eq 10 ] || fail "want ten lines appended to the trace file"
LD_PRELOAD=$PRELOAD "$CTESTS/seed_plain" > out 2> err
[ ! -s err ] && diff -q "$SEED" out > /dev/null || fail "without RSHM_TRACE the preload must be silent"

# 3. A failure is traced with its errno and reason.
LD_PRELOAD=$PRELOAD RSHM_TRACE=1 ipcrm -m 987654 > out 2> err || true
grep -q 'shmctl(shmid=987654, cmd=IPC_RMID, buf=NULL) = -1 EINVAL (no segment has id 987654)' err || fail "failure trace"

# 4. glibc's results for every input: by default even the strict cases, and with RSHM_STRICT=1 the strict list.
LD_PRELOAD=$PRELOAD "$CTESTS/differential.preload"
LD_PRELOAD=$PRELOAD RSHM_STRICT=1 "$CTESTS/differential.preload"

# 5. util-linux's ipcmk and ipcrm, which import glibc's versioned symbols.
id=$(LD_PRELOAD=$PRELOAD RSHM_TRACE=1 ipcmk -M 8192 -p 0600 2> err | sed -n 's/^Shared memory id: //p')
grep -q "shmget(key=0x[0-9a-f]*, size=8192, flags=IPC_CREAT|0600) = $id\$" err || fail "ipcmk was not taken over"
ipcs -m -i "$id" | grep -q "bytes=8192" || fail "ipcs does not see ipcmk's segment"
LD_PRELOAD=$PRELOAD RSHM_TRACE=1 ipcrm -m "$id" 2> err
grep -q "shmctl(shmid=$id, cmd=IPC_RMID, buf=NULL) = 0\$" err || fail "ipcrm was not taken over"
[ -z "$(ipcs -m | awk 'NR>3 && NF>=6')" ] || fail "ipcrm under the preload did not remove the segment"

# 6. RSHM_LEAK_CHECK reports what the process made and left behind, with how it was made.
LD_PRELOAD=$PRELOAD RSHM_LEAK_CHECK=1 "$CTESTS/leaky" leak > out 2> err
grep -q '^rshm\[[0-9]*\]: leak: segment [0-9]* (key 0x5253ee01, 4096 bytes) made by shmget(key=0x5253ee01, size=4096, flags=IPC_CREAT|0600) was neither removed nor left attached$' err \
    || fail "the leak was not reported"
grep -q 'leak check: 1 of the 2 segments this process created leaked$' err || fail "leak summary"
ipcrm -M 0x5253ee01
LD_PRELOAD=$PRELOAD RSHM_LEAK_CHECK=1 "$CTESTS/leaky" clean > out 2> err
grep -q 'leak check: 0 of the 2 segments this process created leaked$' err || fail "a clean run reports no leak"
[ "$(wc -l < err)" -eq 1 ] || fail "a clean run prints one line"

# 7. Threads and fork under the preload, traced to a file and leak-checked: no deadlock, nothing left.
LD_PRELOAD=$PRELOAD RSHM_TRACE=$work/threads.log RSHM_LEAK_CHECK=1 "$CTESTS/preload_threads" > out 2> err \
    || fail "threads and fork under the preload"
grep -q "segments left: 0" out || fail "threads left segments"
[ "$(grep -c 'shmat(shmid=' threads.log)" -eq $((8 * 300 + 40)) ] || fail "want one trace line per shmat"
grep -q 'leak check: 0 of the ' threads.log || fail "the threaded run leaked"

echo "preload: demo and trace, trace file, silence, failures, glibc's results (default and strict), ipcmk/ipcs/ipcrm, leak check, threads and fork: all passed"
