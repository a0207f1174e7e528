#!/bin/sh
# tests/peers/run.sh PRELOAD: runs the peers' own System V IPC test suites twice,
# without and with librshm_preload.so in LD_PRELOAD, and fails unless every test
# ends the same way in both runs (and the preload's trace shows it took the calls):
#   - Python's sysv_ipc (its source package from PyPI, through pip): tests/test_semaphores.py
#     and tests/test_message_queues.py, against the extension built from that source;
#   - Perl's IPC::SysV (cpan/IPC-SysV/t/ of Debian's perl source, through apt-get source),
#     against the system perl's IPC::SysV.
# Each run is in an IPC namespace of its own (unshare -i: root). Downloads are kept in
# target/peers/ and reused. make peers-test runs this; docs/TESTING.md says more.
set -eu
[ $# -eq 1 ] || { echo "usage: tests/peers/run.sh PRELOAD"; exit 2; }
preload=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
[ -f "$preload" ] || { echo "peers: no preload library at $1"; exit 2; }
root=$(pwd)
work=$root/target/peers
mkdir -p "$work"
cd "$work"
fail() { echo "peers: $*"; exit 1; }
SYSV_IPC_VERSION=1.2.0

# ---- what the suites need, installed through the package managers when missing ----
need_apt() { # need_apt PACKAGE...: installs the Debian packages not installed yet
    missing=""
    for package in "$@"; do
        dpkg-query -W -f '${Status}' "$package" 2> /dev/null | grep -q 'install ok installed' || missing="$missing $package"
    done
    [ -z "$missing" ] && return 0
    echo "peers: installing$missing"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing > /dev/null
}
python3 -c 'import venv, sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
    2> /dev/null || need_apt python3-venv python3-dev
command -v prove > /dev/null || need_apt perl
# apt-get source needs the deb-src lines of the configured archives.
if [ -z "$(apt-cache showsrc perl 2> /dev/null | sed -n 's/^Version: //p')" ]; then
    for list in /etc/apt/sources.list.d/debian.sources; do
        [ -f "$list" ] && sed 's/^Types: deb$/Types: deb-src/' "$list" > /etc/apt/sources.list.d/rshm-deb-src.sources
    done
    apt-get update -qq
fi

# ---- Python's sysv_ipc ----
if [ ! -d "sysv_ipc-$SYSV_IPC_VERSION/tests" ]; then
    python3 -m venv venv
    venv/bin/pip download -q --no-binary :all: --no-deps "sysv_ipc==$SYSV_IPC_VERSION" -d .
    tar xzf "sysv_ipc-$SYSV_IPC_VERSION.tar.gz"
    venv/bin/pip install -q --no-deps --target site "./sysv_ipc-$SYSV_IPC_VERSION"
fi

# ---- Perl's IPC::SysV tests, from the source of the perl installed (or the archive's) ----
if [ ! -d perl-ipc-sysv/t ]; then
    installed=$(dpkg-query -W -f '${Version}' perl)
    for version in "$installed" $(apt-cache showsrc perl | sed -n 's/^Version: //p'); do
        apt-get source -qq --download-only "perl=$version" > /dev/null 2>&1 && break
    done
    orig=$(ls perl_*.orig.tar.xz | head -1)
    [ -n "$orig" ] || fail "apt-get source perl found no source"
    mkdir -p perl-ipc-sysv
    tar xJf "$orig" --wildcards --strip-components=3 -C perl-ipc-sysv '*/cpan/IPC-SysV/t/*'
fi

# ---- the runs ----
# The outcome of each test, one per line: what both runs must share.
python_outcomes() { # python_outcomes [ENV...]
    (cd "sysv_ipc-$SYSV_IPC_VERSION" && env PYTHONPATH="$work/site" "$@" unshare -i \
        python3 -m unittest -v tests.test_semaphores tests.test_message_queues 2>&1) |
        grep -E '\.\.\. (ok|FAIL|ERROR|skipped|expected failure|unexpected success)' | sed 's/ \.\.\. /: /' | sort
}
perl_outcomes() { # perl_outcomes [ENV...]
    (cd perl-ipc-sysv && env "$@" unshare -i prove -v t/ 2>&1) |
        grep -E '^(ok|not ok) [0-9]+|^t/[a-z]+\.t \.+' | sed 's/ *# *[0-9.]* *wallclock.*//' 
}
summary() { # summary FILE: N tests, N passed, N skipped, N failed (a skipped test file counts once)
    total=$(grep -c -E '^(ok|not ok) |: (ok|FAIL|ERROR|skipped|expected failure|unexpected success)|skipped:' "$1" || true)
    skipped=$(grep -c -i -E 'skip' "$1" || true)
    failed=$(grep -c -E '^not ok|: (FAIL|ERROR)' "$1" || true)
    echo "$total tests: $((total - skipped - failed)) passed, $skipped skipped, $failed failed"
}
status=0
for suite in python perl; do
    ${suite}_outcomes > "$suite.plain"
    ${suite}_outcomes LD_PRELOAD="$preload" RSHM_TRACE="$work/$suite.trace" > "$suite.preload"
    rm -f "$work/$suite.trace"
    ${suite}_outcomes LD_PRELOAD="$preload" RSHM_TRACE="$work/$suite.trace" > /dev/null
    [ -s "$suite.plain" ] || fail "$suite: the suite ran no test"
    calls=$(sed -n 's/^rshm\[[0-9]*\]: \([a-z]*\)(.*/\1/p' "$suite.trace" | sort | uniq -c | awk '{ printf "%s %s, ", $2, $1 }')
    echo "peers: $suite without the preload: $(summary "$suite.plain")"
    echo "peers: $suite with the preload:    $(summary "$suite.preload") (calls taken: ${calls%, })"
    if ! cmp -s "$suite.plain" "$suite.preload"; then
        diff "$suite.plain" "$suite.preload" | head -20
        echo "peers: $suite: the preload changed the outcome of a test"
        status=1
    fi
    grep -q -E 'sem(get|op|ctl)|msg(get|snd|rcv)' "$suite.trace" || { echo "peers: $suite: the preload took no call"; status=1; }
done
[ $status -eq 0 ] && echo "peers: sysv_ipc and IPC::SysV: the same outcome for every test with and without the preload"
exit $status
