#!/bin/sh
# PostgreSQL 15's regression suite against a server that runs under the preload with
# System V shared memory for everything (shared_memory_type=sysv,
# dynamic_shared_memory_type=sysv), RSHM_STRICT=1 and RSHM_LEAK_CHECK=1. Passes when the
# suite passes, the leak check reports nothing, nothing else is said by the preload, and
# no segment is left after the server stops. Not part of `make test`: it installs Debian
# packages (postgresql-15, postgresql-server-dev-15, dpkg-dev), adds deb-src lines if
# apt has none, and fetches the source package for the suite (docs/TESTING.md).
#
# Usage (as root, after `make`): tests/postgres/regress.sh [PRELOAD]
# Work files stay in $RSHM_PG_WORK (default /var/tmp/rshm-postgres) for a look afterwards;
# the source package is kept there and not fetched again.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
preload=${1:-$root/target/release/librshm_preload.so}
work=${RSHM_PG_WORK:-/var/tmp/rshm-postgres}
say() { echo "postgres: $*"; }
fail() { echo "postgres: FAILED: $*"; exit 1; }
[ "$(id -u)" = 0 ] || fail "run as root (it installs packages and runs the server as postgres)"
[ -f "$preload" ] || fail "no preload at $preload: run make first"

# In a private IPC namespace: the check "no segment left" then sees only the server's.
if [ "${RSHM_ISOLATED:-}" != 1 ]; then
    RSHM_ISOLATED=1 exec unshare -i "$0" "$@"
fi

# 1. Packages, and the source package for the suite (deb-src lines added if missing).
bin=/usr/lib/postgresql/15/bin
if [ ! -x "$bin/postgres" ] || [ ! -d /usr/include/postgresql/15/server ] || ! command -v dpkg-source > /dev/null; then
    say "installing postgresql-15, postgresql-server-dev-15 and dpkg-dev"
    apt-get update -q > /dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-15 postgresql-server-dev-15 dpkg-dev gcc > /dev/null
fi
mkdir -p "$work"
# The suite must be the server's own version: fetch the source of the installed version,
# or else of another version apt offers, and then install the server of that version.
if ! apt-get source --print-uris postgresql-15 > /dev/null 2>&1; then
    say "adding deb-src lines (/etc/apt/sources.list.d/rshm-deb-src.sources) for apt-get source"
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
            > /etc/apt/sources.list.d/rshm-deb-src.sources
    else
        sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > /etc/apt/sources.list.d/rshm-deb-src.list
    fi
    apt-get update -q > /dev/null
fi
installed=$(dpkg-query -W -f='${Version}' postgresql-15)
upstream() { echo "$1" | sed 's/-[^-]*$//'; } # 15.18-0+deb12u1 -> 15.18
src=$work/postgresql-15-$(upstream "$installed")
if [ ! -f "$src/src/test/regress/parallel_schedule" ]; then
    for version in "$installed" $(apt-cache madison postgresql-15 | awk -F'|' '{ gsub(/ /, "", $2); print $2 }'); do
        say "fetching the source package of postgresql-15 $version"
        if (cd "$work" && apt-get source -q "postgresql-15=$version" > source.log 2>&1); then
            src=$work/postgresql-15-$(upstream "$version")
            break
        fi
        grep '^E:' "$work/source.log" | head -2
    done
fi
version=$(basename "$src" | sed 's/^postgresql-15-//')
if [ "$(upstream "$installed")" != "$version" ]; then
    full=$(apt-cache madison postgresql-15 | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | grep "^$version-" | head -1)
    say "installing the server of the suite's version, $full (was $installed)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --allow-downgrades "postgresql-15=$full" \
        "postgresql-client-15=$full" "postgresql-server-dev-15=$full" "libpq5=$full" "libpq-dev=$full" > /dev/null
fi
regress=$src/src/test/regress
[ -f "$regress/parallel_schedule" ] || fail "no regression suite in $src"
say "server $("$bin/postgres" --version), suite from $(basename "$src")"

# 2. The suite's C functions (regress.so; autoinc.so and refint.so from contrib/spi),
#    built against the installed server's headers (refint as contrib/spi builds it, verbose).
libs=$work/libs
rm -rf "$libs" && mkdir -p "$libs"
for c in "$regress/regress.c" "$src/contrib/spi/autoinc.c" "$src/contrib/spi/refint.c"; do
    cc -O2 -fPIC -shared -I"$(pg_config --includedir-server 2> /dev/null || echo /usr/include/postgresql/15/server)" \
        -I/usr/include/postgresql/15/server -DREFINT_VERBOSE "$c" -o "$libs/$(basename "$c" .c).so"
done

# 3. A new cluster, System V shared memory for everything, the server under the preload.
run=$work/run
rm -rf "$run" && mkdir -p "$run/sock" "$run/tmp"
cp "$preload" "$run/librshm_preload.so"
chown -R postgres: "$run" "$libs" && chmod 755 "$work" "$run" "$libs"
as_pg() { (cd "$run" && runuser -u postgres -- "$@"); }
as_pg "$bin/initdb" -D "$run/data" --locale=C -E UTF8 -U postgres > "$run/initdb.log" 2>&1 || { tail "$run/initdb.log"; fail "initdb"; }
cat >> "$run/data/postgresql.conf" << EOF
shared_memory_type = sysv
dynamic_shared_memory_type = sysv
listen_addresses = ''
port = 5499
unix_socket_directories = '$run/sock'
EOF
before=$(ipcs -m | awk 'NR > 3 && NF >= 6' | wc -l)
say "starting the server under the preload (RSHM_STRICT=1 RSHM_LEAK_CHECK=1)"
as_pg env LD_PRELOAD="$run/librshm_preload.so" RSHM_STRICT=1 RSHM_LEAK_CHECK=1 TMPDIR="$run/tmp" \
    "$bin/pg_ctl" -D "$run/data" -l "$run/server.log" -w start > "$run/pg_ctl.out" 2> "$run/pg_ctl.err" \
    || { cat "$run/pg_ctl.err"; tail "$run/server.log"; fail "the server does not start under the preload"; }
ipcs -m | awk 'NR > 3 && NF >= 6' | grep -q . || fail "the server made no System V segment: this tests nothing"

# 4. The regression suite (installcheck: pg_regress against the running server), not under the preload.
say "running the regression suite"
status=0
as_pg "$bin/../lib/pgxs/src/test/regress/pg_regress" --inputdir="$regress" --outputdir="$run/out" \
    --bindir="$bin" --dlpath="$libs" --host="$run/sock" --port=5499 --user=postgres \
    --schedule="$regress/parallel_schedule" --max-connections=20 > "$run/regress.log" 2>&1 || status=$?
segments_while_up=$(ipcs -m | awk 'NR > 3 && NF >= 6' | wc -l)

# 5. Stop, and wait for the leak check's verdict (the run directory goes once it is given).
as_pg "$bin/pg_ctl" -D "$run/data" -m fast -w stop > /dev/null
for _ in $(seq 100); do [ -z "$(ls "$run/tmp")" ] && break; sleep 0.1; done

# 6. The checks.
summary=$(grep -E 'tests? (passed|failed)|All [0-9]+ tests' "$run/regress.log" | tr -s ' ' | head -3)
passed=$(grep -cE '(\.\.\. ok|^ok [0-9]+)' "$run/regress.log" || true)
failed=$(grep -cE '(\.\.\. FAILED|^not ok [0-9]+)' "$run/regress.log" || true)
leaks=$(cat "$run/server.log" "$run/pg_ctl.err" | grep -c 'rshm\[[0-9]*\]: leak' || true)
said=$(cat "$run/server.log" "$run/pg_ctl.err" | grep 'rshm\[[0-9]*\]: ' | grep -vc 'rshm\[[0-9]*\]: leak' || true)
left=$(ipcs -m | awk 'NR > 3 && NF >= 6' | wc -l)
say "suite: $summary"
say "tests passed: $passed, failed: $failed; segments while up: $segments_while_up; leak lines: $leaks; other preload lines: $said; segments left: $left (before: $before)"
say "run directory left: $(ls "$run/tmp" | tr '\n' ' ')"
[ $status -eq 0 ] && [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] || { tail -20 "$run/regress.log"; fail "the regression suite"; }
[ "$leaks" -eq 0 ] || { cat "$run/server.log" "$run/pg_ctl.err" | grep 'rshm\['; fail "the leak check reported a leak"; }
[ "$said" -eq 0 ] || { cat "$run/server.log" "$run/pg_ctl.err" | grep 'rshm\['; fail "the preload said something"; }
[ "$left" -eq "$before" ] || { ipcs -m; fail "segments left after the server stopped"; }
[ -z "$(ls "$run/tmp")" ] || fail "the leak check's run directory was not removed"
say "passed"
