#!/bin/sh
# The preload library on unchanged binaries (make preload-test runs this in a
# private IPC namespace, with PRELOAD, CTESTS and SEED set).
set -eu
tests=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
suid=$(mktemp -d)
trap 'rm -rf "$work" "$suid"' EXIT
cd "$work"
touch shmfile
fail() { echo "preload-test: $*"; for f in err out; do [ -f $f ] && sed 's/^/  /' $f; done; exit 1; }
# The test programs that only this scenario runs, built here.
build() { ${CC:-cc} -std=c11 -Wall -Wextra -Werror -O2 -g -pthread -I"$tests/c" "$@"; }

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

# 6. RSHM_LEAK_CHECK reports what the program made and left behind, with how and by whom
#    it was made, one line each and nothing else; nothing from a program that leaked
#    nothing. The run directory (in TMPDIR) is gone once the verdict is given.
mkdir runs
leakcheck() { LD_PRELOAD=$PRELOAD RSHM_LEAK_CHECK=1 TMPDIR=$work/runs "$@"; }
no_run_left() { # a verdict given by the run's keeper comes up to 100 ms after the program
    for _ in $(seq 50); do [ -z "$(ls runs)" ] && return; sleep 0.1; done
    fail "$1: the run directory is still there: $(ls runs)"
}
leakcheck "$CTESTS/leaky" leak > out 2> err
no_run_left "a leak"
grep -q '^rshm\[[0-9]*\]: leak: segment [0-9]* (key 0x5253ee01, 4096 bytes) made by shmget(key=0x5253ee01, size=4096, flags=IPC_CREAT|0600) in process [0-9]* was neither removed nor left attached$' err \
    || fail "the leak was not reported"
[ "$(wc -l < err)" -eq 1 ] || fail "a leak is one line, and nothing else is said"
ipcrm -M 0x5253ee01
leakcheck "$CTESTS/leaky" clean > out 2> err
no_run_left "a clean run"
[ ! -s err ] || fail "a program that leaked nothing printed something"

# 7. Threads and fork under the preload, traced to a file and leak-checked: no deadlock, nothing left.
LD_PRELOAD=$PRELOAD RSHM_TRACE=$work/threads.log RSHM_LEAK_CHECK=1 "$CTESTS/preload_threads" > out 2> err \
    || fail "threads and fork under the preload"
grep -q "segments left: 0" out || fail "threads left segments"
[ "$(grep -c 'shmat(shmid=' threads.log)" -eq $((8 * 300 + 40)) ] || fail "want one trace line per shmat"
! grep -q 'leak' threads.log || fail "the threaded run leaked"

# 8. The loader: the preload has a soname of its own (never librshm's), programs linked
#    against it need that name, and it exports the thirteen calls (the five
#    shared memory ones, the semaphore and the message queue ones) and nothing else.
soname=$(readelf -d "$PRELOAD" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')
[ "$soname" = librshm_preload.so.0 ] || fail "the preload's soname is '$soname', want librshm_preload.so.0"
exports=$(readelf --dyn-syms -W "$PRELOAD" | awk '($5 == "GLOBAL" || $5 == "WEAK") && $7 != "UND" { sub(/@.*/, "", $8); print $8 }' |
    grep -vx -e _init -e _fini -e _edata -e _end -e __bss_start | sort | tr '\n' ' ')
[ "$exports" = "ftok msgctl msgget msgrcv msgsnd semctl semget semop semtimedop shmat shmctl shmdt shmget " ] \
    || fail "the preload exports other than the thirteen calls: $exports"
chmod 755 "$suid" && mkdir -m 755 "$suid/lib" "$suid/root"
cp "$PRELOAD" "$suid/lib/librshm_preload.so" && ln -s librshm_preload.so "$suid/lib/librshm_preload.so.0"
build "$tests/preload/setuid_victim.c" -L"$suid/lib" -Wl,--no-as-needed -lrshm_preload -Wl,--as-needed \
    -Wl,-rpath,"$suid/lib" -o "$suid/victim"
readelf -d "$suid/victim" | grep -q 'NEEDED.*\[librshm_preload\.so\.0\]' || fail "a program linked with -lrshm_preload does not need librshm_preload.so.0"

# 9. RSHM_TRACE names stderr or a regular file. Anything else is refused, said once on
#    stderr, and the program runs untraced: a FIFO without a reader (it used to hang the
#    first call), a FIFO with one (a reader that leaves would kill with SIGPIPE), a
#    symbolic link (O_NOFOLLOW: never followed, its target neither created nor written).
build "$tests/preload/trace_fd.c" -o trace_fd
refused() { # refused WHAT PATH: the program ran, untraced, and said once why
    [ "$(cat out)" = done ] || fail "$1: the program did not run through"
    [ "$(wc -l < err)" -eq 1 ] && grep -q "^rshm\[[0-9]*\]: RSHM_TRACE=$2 refused: .*; not tracing\$" err \
        || fail "$1: want one line on stderr saying RSHM_TRACE=$2 is refused"
}
mkfifo fifo
status=0
timeout 10 env LD_PRELOAD="$PRELOAD" RSHM_TRACE="$work/fifo" ./trace_fd steps > out 2> err || status=$?
[ $status -ne 124 ] || fail "RSHM_TRACE=FIFO without a reader: the program hangs"
[ $status -eq 0 ] || fail "RSHM_TRACE=FIFO without a reader: exit $status"
refused "a FIFO without a reader" "$work/fifo"
exec 3<> fifo # a reader (and writer) that never reads
timeout 10 env LD_PRELOAD="$PRELOAD" RSHM_TRACE="$work/fifo" ./trace_fd steps > out 2> err || fail "RSHM_TRACE=FIFO with a reader"
exec 3>&-
refused "a FIFO with a reader" "$work/fifo"
ln -s "$work/made-through-link" dangling.log
: > written-through-link && ln -s "$work/written-through-link" link.log
LD_PRELOAD=$PRELOAD RSHM_TRACE=$work/dangling.log ./trace_fd steps > out 2> err
[ ! -e made-through-link ] || fail "RSHM_TRACE=symlink: its target was created"
refused "a dangling symbolic link" "$work/dangling.log"
LD_PRELOAD=$PRELOAD RSHM_TRACE=$work/link.log ./trace_fd steps > out 2> err
[ ! -s written-through-link ] || fail "RSHM_TRACE=symlink: its target was written"
refused "a symbolic link" "$work/link.log"

# 10. The trace file is opened once (not once a line), on a high descriptor that the
#     preload checks (device and inode) before each write: a renamed file keeps its
#     lines, and a program that closes the descriptor and reuses its number gets
#     nothing in its own file while the trace goes on.
LD_PRELOAD=$PRELOAD RSHM_TRACE=$work/renamed.log ./trace_fd rename "$work/renamed.log" > out 2> err || fail "trace_fd rename"
[ ! -e renamed.log ] && [ "$(grep -c '^rshm\[' renamed.log.old)" -eq 4 ] || fail "a renamed trace file must keep all four lines"
LD_PRELOAD=$PRELOAD RSHM_TRACE=$work/reused.log ./trace_fd reuse "$work/reused.log" > out 2> err || fail "trace_fd reuse"
[ "$(cat mine)" = mine ] || fail "the preload wrote into the program's own file on the reused descriptor"
[ "$(grep -c '^rshm\[' reused.log)" -eq 6 ] || fail "the trace must go on after the program reused its descriptor"

# 10b. A program that sets its process title (nginx, PostgreSQL) writes over its
#      environment before its first call: the trace file named there still gets the
#      lines, and no stray file named after the title appears.
build "$tests/preload/proctitle.c" -o proctitle
mkdir title && (cd title && LD_PRELOAD=$PRELOAD RSHM_TRACE=$work/title/trace.log ../proctitle > ../out 2> ../err) \
    || fail "proctitle under the preload"
[ "$(cat out)" = done ] && [ ! -s err ] || fail "proctitle: want done on stdout, nothing on stderr"
[ "$(ls title)" = trace.log ] || fail "proctitle: stray files: $(ls title | tr '\n' ' ')"
[ "$(grep -c '^rshm\[[0-9]*\]: shm' title/trace.log)" -eq 2 ] || fail "proctitle: the trace file did not get the two lines"
# 11. Privileged processes: a setuid-root program run by nobody (secure mode: the loader
#     sets AT_SECURE) ignores RSHM_TRACE, RSHM_STRICT and RSHM_LEAK_CHECK (secure_getenv):
#     root creates and appends to nothing nobody names. The same program run without
#     privileges honours them. (The preload is linked, by an absolute RUNPATH: in secure
#     mode the loader ignores LD_PRELOAD paths with a slash and $ORIGIN.)
command -v setpriv > /dev/null || fail "setpriv (util-linux) is needed to run a program as nobody"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
chmod 4755 "$suid/victim"
: > "$suid/root/existing" && chmod 644 "$suid/root/existing"
as_nobody env RSHM_TRACE="$suid/root/created" RSHM_STRICT=1 RSHM_LEAK_CHECK=1 "$suid/victim" > out 2> err \
    || fail "the setuid program failed"
grep -q "^ruid=65534 euid=0 secure=1 " out || fail "the program did not run setuid root in secure mode: this tests nothing"
grep -q "shmget=$suid/lib/librshm_preload.so" out || fail "the setuid program's shmget is not the preload's"
[ ! -e "$suid/root/created" ] || fail "setuid: RSHM_TRACE from an unprivileged user made root create a file"
grep -q "strict=off" out || fail "setuid: RSHM_STRICT from an unprivileged user applied"
[ ! -s err ] || fail "setuid: the preload wrote to stderr"
as_nobody env RSHM_STRICT=2 RSHM_TRAC=1 "$suid/victim" > out 2> err || fail "the setuid program failed"
[ ! -s err ] || fail "setuid: the preload said something about settings it must not read"
as_nobody env RSHM_TRACE="$suid/root/existing" "$suid/victim" > out 2> err || fail "the setuid program failed"
[ ! -s "$suid/root/existing" ] || fail "setuid: RSHM_TRACE from an unprivileged user made root append to a file"
RSHM_TRACE="$suid/root/normal.log" RSHM_STRICT=1 "$suid/victim" > out 2> err || fail "the program, run by root"
grep -q "^ruid=0 euid=0 secure=0 strict=on " out || fail "without privileges gained, RSHM_STRICT must apply"
[ "$(grep -c '^rshm\[' "$suid/root/normal.log")" -eq 3 ] || fail "without privileges gained, RSHM_TRACE must trace"

# 12. RSHM_LEAK_CHECK judges the whole traced program when it is done: every process
#     started under it, however it ends. Nothing from processes that made nothing.
leakcheck /bin/true > out 2> err
no_run_left "/bin/true"
[ ! -s err ] || fail "a process that created no segment printed something"
leakcheck ipcs -m > out 2> err
no_run_left "programs that made nothing"
[ ! -s err ] || fail "a process that only looked at segments printed something"
#   A segment made by one process and removed by a later one of the same program (as
#   PostgreSQL's startup process and postmaster do): nothing.
leakcheck sh -c '"$0" make 5253ee03 && "$0" remove 5253ee03' "$CTESTS/leaky" > out 2> err
no_run_left "make, then remove"
[ ! -s err ] || fail "a segment that a later process removed was reported"
#   A daemon: the launcher exits at once, its child (environment cleared) removes the
#   segment 300 ms later. The verdict waits for the child: nothing.
leakcheck "$CTESTS/leaky" daemon 5253ee04 > out 2> err
no_run_left "a daemon"
[ ! -s err ] || fail "a segment that a daemon outliving its launcher removed was reported"
! ipcs -m | grep -q 0x5253ee04 || fail "the daemon did not remove its segment"
#   Segments nobody removes, one left attached at exit (Xvfb's framebuffer), one handed
#   to a child and left: each reported once, by the last process of the program.
leakcheck sh -c '"$0" xvfb 5253ee05 & "$0" handoff 5253ee06; wait' "$CTESTS/leaky" > out 2> err
no_run_left "leaks"
[ "$(grep -c 'leak: segment [0-9]* (key 0x5253ee05, 4096 bytes) made by shmget(key=0x5253ee05, size=4096, flags=IPC_CREAT|IPC_EXCL|0600)' err)" -eq 1 ] \
    && [ "$(grep -c 'leak: segment [0-9]* (key 0x5253ee06, ' err)" -eq 1 ] && [ "$(wc -l < err)" -eq 2 ] \
    || fail "want each segment nobody removed reported once"
ipcrm -M 0x5253ee05 -M 0x5253ee06
#   A process killed (SIGKILL: no exit handler) is judged gone by the liveness model and
#   does not hold the verdict back: the segment it held and a later process removed is
#   fine, the one made and left is reported.
leakcheck sh -c '"$0" hold 5253ee07 > hold.out & while [ ! -s hold.out ]; do sleep 0.05; done
    kill -9 $!; wait; "$0" remove 5253ee07 > /dev/null; "$0" make 5253ee08' "$CTESTS/leaky" > out 2> err
no_run_left "a killed process"
[ "$(wc -l < err)" -eq 1 ] && grep -q 'leak: segment [0-9]* (key 0x5253ee08, ' err || fail "with a killed process: want the one leak"
ipcrm -M 0x5253ee08
#   util-linux's ipcmk under the preload: its segment is a leak of that program.
id=$(leakcheck ipcmk -M 8192 -p 0600 2> err | sed -n 's/^Shared memory id: //p')
no_run_left "ipcmk"
grep -q "^rshm\[[0-9]*\]: leak: segment $id (key 0x[0-9a-f]*, 8192 bytes) made by shmget(key=0x[0-9a-f]*, size=8192, flags=IPC_CREAT|0600) in process [0-9]* was neither removed nor left attached\$" err \
    && [ "$(wc -l < err)" -eq 1 ] || fail "ipcmk's segment is not reported"
ipcrm -m "$id"
#   The verdict under valgrind: nothing invalid in recording, leaving or judging.
leakcheck sh "$tests/run/valgrind-one.sh" "$CTESTS/leaky" leak 5253ee0a > out 2> err || fail "the leak check under valgrind"
no_run_left "under valgrind"
[ "$(grep -c 'leak: segment [0-9]* (key 0x5253ee0a, ' err)" -eq 1 ] || fail "under valgrind: want the leak reported once"
ipcrm -M 0x5253ee0a

# 13. Children made by _Fork() and raw clone(), which run no atfork handler, while
#     threads attach and detach: none hangs in its first call (traced or not).
build "$tests/preload/fork_children.c" -o fork_children
LD_PRELOAD=$PRELOAD ./fork_children > out 2> err || fail "_Fork and clone children under the preload"
LD_PRELOAD=$PRELOAD RSHM_TRACE=$work/fork.log ./fork_children > out 2> err || fail "_Fork and clone children, traced"

# 14. The five calls from signal handlers that interrupt the same calls, failing and
#     succeeding, untraced, then traced to a file (whole lines only) with the leak check.
build "$tests/preload/signal_handlers.c" -o signal_handlers
LD_PRELOAD=$PRELOAD ./signal_handlers 1000 > out 2> err || fail "signal handlers under the preload"
LD_PRELOAD=$PRELOAD RSHM_TRACE=$work/signals.log RSHM_LEAK_CHECK=1 ./signal_handlers 500 > out 2> err \
    || fail "signal handlers under the preload, traced"
{ LC_ALL=C grep 'rshm\[.*rshm\[' signals.log
  LC_ALL=C grep -v -E -e '^rshm\[[0-9]+\]: leak check: ' \
    -e '^rshm\[[0-9]+\]: (ftok|shmget|shmat|shmdt|shmctl)\(.*\) = ((-1|\(void \*\)-1) E[A-Z]+ \(.*\)|[0-9][0-9a-fx]*)$' signals.log
} > torn || true
[ -s signals.log ] && [ ! -s torn ] || { head -5 torn; fail "signal handlers: no trace, or torn trace lines"; }
LD_PRELOAD=$PRELOAD RSHM_TRACE=$work/signals.log sh "$tests/run/valgrind-one.sh" ./signal_handlers > out 2> err \
    || fail "signal handlers under the preload, traced, under valgrind"

# 15. What the preload does with its settings: stderr, /dev/stderr and /dev/fd/2 name
#     standard error; a value it does not understand and an unknown RSHM_ name are said
#     once per process on stderr (a forked child does not say them again), while the
#     project's own variables are known.
for to in stderr /dev/stderr /dev/fd/2; do
    LD_PRELOAD=$PRELOAD RSHM_TRACE=$to "$CTESTS/seed_plain" > out 2> err
    [ "$(grep -c '^rshm\[[0-9]*\]: [a-z]*(.*) = ' err)" -eq 5 ] && [ "$(wc -l < err)" -eq 5 ] \
        || fail "RSHM_TRACE=$to: want the five trace lines on stderr"
done
[ ! -e stderr ] || fail "RSHM_TRACE=stderr made a file"
LD_PRELOAD=$PRELOAD RSHM_STRICT=2 RSHM_LEAK_CHECK=ja RSHM_TRAC=1 RSHM_BENCH_RUNS=3 RSHM_FUZZ_CASES=9 RSHM_PRELOAD_LIB=x \
    "$CTESTS/leaky" handoff 5253ee09 > out 2> err
ipcrm -M 0x5253ee09
grep -qx 'rshm\[[0-9]*\]: RSHM_STRICT=2 is not understood (on: 1, yes, true, on; off: 0, no, false, off or empty): off' err \
    && grep -qx 'rshm\[[0-9]*\]: RSHM_LEAK_CHECK=ja is not understood (.*): off' err \
    && grep -qx 'rshm\[[0-9]*\]: RSHM_TRAC is not a setting of the preload (it reads RSHM_STRICT, RSHM_TRACE and RSHM_LEAK_CHECK): ignored' err \
    && [ "$(wc -l < err)" -eq 3 ] || fail "want three lines, once each, about what the preload does not understand"
LD_PRELOAD=$PRELOAD RSHM_STRICT=2 sh -c '"$0" clean; "$0" clean' "$CTESTS/leaky" > out 2> err
[ "$(grep -c 'RSHM_STRICT=2 is not understood' err)" -eq 3 ] || fail "each executed process says it once"

echo "preload: demo and trace, trace file, silence, failures, glibc's results (default and strict), ipcmk/ipcs/ipcrm, leak check, threads and fork, soname and exports, refused trace destinations, trace file opened once, setuid, leak check of whole programs, _Fork/clone children, signal handlers, settings said: all passed"
