#!/bin/sh
# The preload on the semaphore and message queue calls of unchanged binaries
# (make preload-family-test runs this in a private IPC namespace, with
# PRELOAD and CTESTS set): util-linux's ipcmk and ipcrm taken over through
# glibc's versioned symbols, one trace line per call, glibc's results, and
# RSHM_STRICT's refusal of an undefined flag.
set -eu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "preload-family-test: $*"; for f in err out; do [ -f $f ] && sed 's/^/  /' $f; done; exit 1; }

# 1. ipcmk -S / -Q and ipcrm -a, traced: each call is the preload's.
LD_PRELOAD=$PRELOAD RSHM_TRACE=1 ipcmk -S 3 -p 0640 > out 2> err || fail "ipcmk -S under the preload"
grep -Eq '^rshm\[[0-9]+\]: semget\(key=0x[0-9a-f]{8}, nsems=3, flags=IPC_CREAT\|0640\) = [0-9]+$' err \
    || fail "ipcmk -S: no semget trace line"
LD_PRELOAD=$PRELOAD RSHM_TRACE=1 ipcmk -Q > out 2> err || fail "ipcmk -Q under the preload"
grep -Eq '^rshm\[[0-9]+\]: msgget\(key=0x[0-9a-f]{8}, flags=IPC_CREAT\|0644\) = [0-9]+$' err \
    || fail "ipcmk -Q: no msgget trace line"
LD_PRELOAD=$PRELOAD RSHM_TRACE=1 ipcrm -a > out 2> err || fail "ipcrm -a under the preload"
grep -Eq '^rshm\[[0-9]+\]: semctl\(semid=[0-9]+, semnum=0, cmd=IPC_RMID\) = 0$' err || fail "ipcrm: no semctl line"
grep -Eq '^rshm\[[0-9]+\]: msgctl\(msqid=[0-9]+, cmd=IPC_RMID, buf=NULL\) = 0$' err || fail "ipcrm: no msgctl line"
[ "$(ipcs -s -q | grep -c '^0x')" -eq 0 ] || fail "ipcrm -a under the preload left objects"

# 2. A program's everyday use: the same output with and without the preload,
#    one trace line per call (16 calls), each of the eight names traced.
"$CTESTS/preload_family" use > plain 2> err || fail "family use, without the preload"
LD_PRELOAD=$PRELOAD RSHM_TRACE=1 "$CTESTS/preload_family" use > out 2> err || fail "family use, under the preload"
cmp -s plain out || { diff plain out; fail "family use prints otherwise under the preload"; }
[ "$(grep -c '^rshm\[[0-9]*\]: ' err)" -eq 16 ] || fail "want 16 trace lines"
for call in semget semop semtimedop semctl msgget msgsnd msgrcv msgctl; do
    grep -q "^rshm\[[0-9]*\]: $call(" err || fail "no $call line"
done
grep -q 'semop(semid=[0-9]*, sops=0x[0-9a-f]*, nsops=1) = -1 EAGAIN (an operation would wait and its sem_flg has IPC_NOWAIT)$' err \
    || fail "the failing semop is not explained"
grep -q 'msgrcv(msqid=[0-9]*, msgp=0x[0-9a-f]*, msgsz=32, msgtyp=0, flags=IPC_NOWAIT) = -1 ENOMSG (queue [0-9]* is empty and flags have IPC_NOWAIT)$' err \
    || fail "the failing msgrcv is not explained"

# 3. RSHM_STRICT=1 refuses msgget's undefined IPC_NOWAIT; by default it passes, as with glibc.
LD_PRELOAD=$PRELOAD "$CTESTS/preload_family" strict > out 2> err
grep -qx 'msgget: ok errno 0' out || fail "msgget with IPC_NOWAIT must pass by default"
LD_PRELOAD=$PRELOAD RSHM_STRICT=1 RSHM_TRACE=1 "$CTESTS/preload_family" strict > out 2> err
grep -qx 'msgget: -1 errno EINVAL' out || fail "RSHM_STRICT=1 must refuse msgget with IPC_NOWAIT"
grep -q 'flags has bits 04000 that msgget does not use (strict list' err || fail "the strict refusal is not explained"

# 4. The same program built through rshm_compat.h (-include, unchanged source):
#    it imports rshm's eight calls and none of libc's, and prints the same.
"$CTESTS/family_compat" use > out 2> err || fail "family use through rshm_compat.h"
cmp -s plain out || { diff plain out; fail "family use prints otherwise through rshm_compat.h"; }
imports=$(nm -u "$CTESTS/family_compat" | grep -Eo '\b(rshm_)?(sem(get|op|timedop|ctl)|msg(get|snd|rcv|ctl))\b' | sort -u | tr '\n' ' ')
[ "$imports" = "rshm_msgctl rshm_msgget rshm_msgrcv rshm_msgsnd rshm_semctl rshm_semget rshm_semop rshm_semtimedop " ] \
    || fail "through rshm_compat.h the program imports: $imports"

# 5. RSHM_LEAK_CHECK: the sets and queues a program made and left are reported, one line
#    each (made with IPC_PRIVATE, IPC_CREAT|IPC_EXCL, or IPC_CREAT on a new key); a queue
#    it only opened (made before by another program) is not, nor is anything a program
#    removed, and a program that leaked nothing says nothing.
mkdir -p runs
leakcheck() { LD_PRELOAD=$PRELOAD RSHM_LEAK_CHECK=1 TMPDIR=$work/runs "$@"; }
leakcheck "$CTESTS/preload_family" use > out 2> err || fail "family use, leak-checked"
[ ! -s err ] || fail "a program that removed its set and queue printed something"
"$CTESTS/preload_family" clean > out 2> err || fail "family clean"
leakcheck "$CTESTS/preload_family" leak > out 2> err || fail "family leak, leak-checked"
grep -q '^rshm\[[0-9]*\]: leak: semaphore set [0-9]* (key 0x5253ee11) made by semget(key=0x5253ee11, nsems=1, flags=IPC_CREAT|IPC_EXCL|0600) in process [0-9]* was not removed$' err \
    || fail "the set left behind was not reported"
grep -q '^rshm\[[0-9]*\]: leak: message queue [0-9]* (key 0x00000000) made by msgget(key=0x00000000, flags=IPC_CREAT|0600) in process [0-9]* was not removed$' err \
    || fail "the private queue left behind was not reported"
grep -q '^rshm\[[0-9]*\]: leak: message queue [0-9]* (key 0x5253ee14) made by msgget(key=0x5253ee14, flags=IPC_CREAT|0600) in process' err \
    || fail "the queue made with IPC_CREAT alone was not reported"
! grep -q '0x5253ee12' err || fail "a queue the program only opened was reported"
[ "$(wc -l < err)" -eq 3 ] || fail "want three leak lines and nothing else"
ipcrm -a
[ -z "$(ls runs)" ] || fail "the leak check left its run directory"

echo "preload-family: ipcmk/ipcrm taken over, everyday use as with glibc, one trace line per call, strict list, rshm_compat.h, leak check of sets and queues: all passed"
