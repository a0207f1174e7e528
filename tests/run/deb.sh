#!/bin/sh
# deb.sh DIR: make deb-test. Installs the packages make deb left in DIR (apt-get, as root),
# builds a C consumer with pkg-config (shared and rshm-static) and the C++ and C consumers of
# tests/cmake with CMake against them, runs them and `rshm --version`, traces a plain program
# through the preload, then purges the packages: the installed package set, and every file
# they shipped, must be as before. Refuses to run if any of them is installed already.
# Not part of make test: it changes the machine's packages.
set -eu
dir=${1:-target/deb}
here=$(cd "$(dirname "$0")" && pwd)
root=$(pwd)
fail() { echo "deb-test: $*"; exit 1; }
[ "$(id -u)" = 0 ] || fail "run as root: it installs and purges packages"
ls "$dir"/*.deb > /dev/null 2>&1 || fail "no packages in $dir: run make deb first"
packages=$(for deb in "$dir"/*.deb; do dpkg-deb -f "$deb" Package; done | sort)
for package in $packages; do
    ! dpkg-query -W -f '${Status}' "$package" 2> /dev/null | grep -q 'installed' \
        || fail "$package is installed already: deb-test leaves a machine as it found it, so it will not touch it"
done
work=$(mktemp -d)
state() { dpkg-query -W -f '${Package}:${Architecture} ${Version} ${Status}\n' | grep -v ' not-installed$' | sort; }
state > "$work/before"
for deb in "$dir"/*.deb; do dpkg-deb -c "$deb"; done | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' | sort -u > "$work/files"
purge() { apt-get purge -y -qq $packages > "$work/purge.log" 2>&1 || { cat "$work/purge.log"; echo "deb-test: purge failed"; }; }
trap 'purge; rm -rf "$work"' EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends $(ls "$dir"/*.deb | sed 's|^\([^/]\)|./\1|') > "$work/install.log" 2>&1 \
    || { cat "$work/install.log"; fail "the packages do not install"; }
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

# The command, its manual page and the library's soname link.
rshm --version | grep -q "^rshm " || fail "rshm --version does not answer"
[ "$(man -w rshm)" = /usr/share/man/man1/rshm.1.gz ] || fail "man rshm does not find the page"
[ -L "/usr/lib/$multiarch/librshm.so.0.2" ] || fail "no soname link /usr/lib/$multiarch/librshm.so.0.2"

# A C consumer with pkg-config, shared and static, in its own IPC namespace.
cat > "$work/app.c" <<'APP'
#include <stdio.h>
#include "rshm.h"
int main(void) {
    rshm_options opts = RSHM_OPTIONS_INIT;
    rshm_segment *seg;
    char text[32];
    opts.size = 64;
    opts.flags = RSHM_CREATE | RSHM_REMOVE_ON_CLOSE;
    if (rshm_open(&opts, &seg) != RSHM_OK) { puts(rshm_last_error()); return 1; }
    rshm_write_str(seg, 0, "packaged");
    rshm_read_str(seg, 0, text, sizeof text);
    rshm_close(seg);
    printf("%s %s\n", text, rshm_version());
    return 0;
}
APP
cd "$work"
${CC:-cc} app.c $(pkg-config --cflags --libs rshm) -o app_shared || fail "the pkg-config shared build fails"
${CC:-cc} app.c $(pkg-config --cflags --libs rshm-static) -o app_static || fail "the rshm-static build fails"
version=$(pkg-config --modversion rshm)
for app in app_shared app_static; do
    "$here/isolated.sh" "./$app" | grep -qx "packaged $version" || fail "$app does not run"
done
readelf -d app_shared | grep -q 'NEEDED.*\[librshm.so.0.2\]' || fail "app_shared does not need librshm.so.0.2"
! readelf -d app_static | grep -q librshm || fail "app_static needs librshm.so"

# The CMake consumers of tests/cmake (C++ on rshm::rshm and rshm::rshm_static, C on the static one).
cmake -S "$root/tests/cmake" -B "$work/build" -DCMAKE_BUILD_TYPE=Release > cmake.log 2>&1 \
    || { cat cmake.log; fail "find_package(rshm) does not find the packaged CMake files"; }
cmake --build "$work/build" > build.log 2>&1 || { cat build.log; fail "the CMake consumers do not build"; }
for app in consumer_shared consumer_static consumer_c; do
    "$here/isolated.sh" "$work/build/$app" > "$app.out" 2>&1 || { cat "$app.out"; fail "$app fails"; }
    grep -q "$version" "$app.out" || fail "$app does not print $version"
done

# The preload, from its private folder, on a plain program.
printf '#include <stddef.h>\n#include <sys/shm.h>\nint main(void){int id=shmget(IPC_PRIVATE,1,IPC_CREAT|0600);return shmctl(id,IPC_RMID,NULL);}\n' > plain.c
${CC:-cc} plain.c -o plain
LD_PRELOAD="/usr/lib/$multiarch/rshm/librshm_preload.so" RSHM_TRACE=1 "$here/isolated.sh" ./plain 2>&1 \
    | grep -q "shmget(key=0x00000000" || fail "the packaged preload does not trace"

# Purge: the package set and the files as before.
cd "$root"
trap 'rm -rf "$work"' EXIT
apt-get purge -y -qq $packages > "$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "purge failed"; }
state > "$work/after"
diff -u "$work/before" "$work/after" || fail "the installed packages differ after the purge"
left=$(while read -r file; do [ ! -e "$file" ] && [ ! -L "$file" ] || echo "$file"; done < "$work/files")
[ -z "$left" ] || fail "files left after the purge: $left"
echo "deb-test: $(echo $packages) installed; pkg-config (shared, rshm-static) and CMake (C++, C) consumers built and ran; rshm --version, man rshm and the preload work; purged, leaving no file and no package"
