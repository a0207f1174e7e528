#!/bin/sh
# make install into a scratch prefix, build against the installed copy with
# pkg-config (shared, static, compat header, preload), make uninstall, and
# check that nothing is left. Run from the source tree by make install-test.
set -eu
test_name=install-test
. "$(dirname "$0")/scratch_install.sh"
PREFIX_DIR=$prefix
cd "$work"
lib="$PREFIX_DIR/lib"

# The soname chain: librshm.so -> the soname (librshm.so.0.MINOR while 0.x, then
# librshm.so.MAJOR) -> librshm.so.MAJOR.MINOR.PATCH.
real=$(readlink -f "$lib/librshm.so")
case "$(basename "$real")" in librshm.so.*.*.*) ;; *) fail "librshm.so does not lead to librshm.so.MAJOR.MINOR.PATCH";; esac
soname=$(readelf -d "$real" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ -L "$lib/$soname" ] || fail "no $soname link for the soname"

# ldconfig names each library by its soname (ldconfig -n: links in that folder only; on
# a copy, so that uninstall is judged on what make install did): librshm's soname must
# lead to librshm and the preload's to the preload. Were they to share one, every program
# linked with -lrshm would get its libc calls replaced after the next ldconfig.
soname_of() { readelf -d "$1" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p'; }
exports() { nm -D --defined-only "$1" | awk '{ sub(/@.*/, "", $3); print $3 }'; }  # names without their version
mkdir "$work/ld" && cp -P "$lib"/*.so* "$work/ld/"
ldconfig -n "$work/ld"
[ "$(soname_of "$work/ld/$soname")" = "$soname" ] && exports "$work/ld/$soname" | grep -qx rshm_version \
    && ! exports "$work/ld/$soname" | grep -qx shmget || fail "after ldconfig, $soname is not librshm"
preload_soname=$(soname_of "$lib/librshm_preload.so")
case "$preload_soname" in librshm_preload.so.*) ;; *) fail "the preload has no soname of its own ('$preload_soname')";; esac
[ -L "$work/ld/$preload_soname" ] && exports "$work/ld/$preload_soname" | grep -qx shmget \
    && ! exports "$work/ld/$preload_soname" | grep -q '^rshm_' || fail "after ldconfig, $preload_soname is not the preload"
for link in "$work"/ld/*; do
    [ -L "$link" ] || continue
    name=$(basename "$link")
    case "$name" in librshm.so*) exports "$link" | grep -qx rshm_version || fail "after ldconfig, $name is not librshm";; esac
    [ "$name" = librshm.so ] || [ "$(soname_of "$link")" = "$name" ] || fail "after ldconfig, $name leads to a library named $(soname_of "$link")"
done

cat > app.c <<'APP'
#include <stdio.h>
#include "rshm.h"
int main(void) {
    rshm_options opts = {0};
    rshm_segment *seg;
    char text[32];
    opts.size = 64;
    opts.flags = RSHM_CREATE | RSHM_REMOVE_ON_CLOSE;
    if (rshm_open(&opts, &seg) != RSHM_OK) { puts(rshm_last_error()); return 1; }
    rshm_write_str(seg, 0, "installed");
    rshm_read_str(seg, 0, text, sizeof text);
    rshm_close(seg);
    printf("%s %s\n", text, rshm_version());
    return 0;
}
APP
# Shared, the usual way.
${CC:-cc} app.c $(pkg-config --cflags --libs rshm) -Wl,-rpath,"$lib" -o app_shared
./app_shared | grep -q "^installed $(pkg-config --modversion rshm)$" || fail "the shared build does not run"
readelf -d app_shared | grep -q "NEEDED.*\[$soname\]" || fail "the app does not need $soname"
# Static: librshm.a with the Libs.private that the .pc file lists.
${CC:-cc} app.c $(pkg-config --cflags rshm) "$lib/librshm.a" $(pkg-config --static --libs rshm | sed 's/-lrshm\b//') -o app_static
./app_static | grep -q "^installed" || fail "the static build does not run"
! readelf -d app_static | grep -q librshm || fail "the static build still needs librshm.so"
# Static in one line, as docs/c-api.md prints it: rshm-static.pc.
${CC:-cc} app.c $(pkg-config --cflags --libs rshm-static) -o app_static_pc
./app_static_pc | grep -q "^installed" || fail "the rshm-static.pc build does not run"
! readelf -d app_static_pc | grep -q librshm || fail "the rshm-static.pc build still needs librshm.so"
# The compat header from the installed include directory.
printf '#include <stdio.h>\n#include <sys/shm.h>\nint main(void){int id=shmget(IPC_PRIVATE,1,IPC_CREAT|0600);return shmctl(id,IPC_RMID,NULL);}\n' > legacy.c
${CC:-cc} -include rshm_compat.h legacy.c $(pkg-config --cflags --libs rshm) -Wl,-rpath,"$lib" -o legacy
./legacy || fail "a legacy source through the installed compat header fails"
nm -u legacy | grep -q rshm_shmget || fail "the installed compat header did not map shmget"
# The preload library from the installed copy.
[ -f "$lib/librshm_preload.so" ] || fail "no librshm_preload.so"
LD_PRELOAD="$lib/librshm_preload.so" RSHM_TRACE=1 ./legacy 2>&1 | grep -q "shmget" && fail "legacy calls rshm_ directly; the preload must see nothing"
printf '#include <stddef.h>\n#include <sys/shm.h>\nint main(void){int id=shmget(IPC_PRIVATE,1,IPC_CREAT|0600);return shmctl(id,IPC_RMID,NULL);}\n' > plain.c
${CC:-cc} plain.c -o plain
LD_PRELOAD="$lib/librshm_preload.so" RSHM_TRACE=1 ./plain 2>&1 | grep -q "shmget(key=0x00000000" || fail "the installed preload does not trace"
# The command.
"$PREFIX_DIR/bin/rshm" --help | grep -q "Exit codes" || fail "the rshm command is not installed"

# ---- the C++ header, the CMake package and the license texts (docs/cpp.md) ----
# cpp.sh, cmake.sh and c89.sh build against them; here: each is installed, and make uninstall
# removes them and their folders (the checks below).
for file in include/rshm/rshm.hpp lib/pkgconfig/rshm-static.pc lib/cmake/rshm/rshmConfig.cmake lib/cmake/rshm/rshmConfigVersion.cmake \
            lib/cmake/rshm/rshmTargets.cmake share/doc/rshm/LICENSE-MIT share/doc/rshm/LICENSE-APACHE; do
    [ -s "$PREFIX_DIR/$file" ] || fail "make install did not install $file"
done
# ---- end of the C++ header, the CMake package and the license texts ----

# ---- the rshm command's man page and shell completions (docs/cli.md) ----
# Installed where man, bash-completion, zsh and fish look under the prefix; the page renders
# without a warning; make uninstall removes them (the check below finds anything left).
share="$PREFIX_DIR/share"
for file in man/man1/rshm.1 bash-completion/completions/rshm zsh/site-functions/_rshm \
            fish/vendor_completions.d/rshm.fish; do
    [ -s "$share/$file" ] || fail "make install did not install share/$file"
done
warnings=$(MANWIDTH=80 man --warnings -P cat -l "$share/man/man1/rshm.1" 2>&1 > /dev/null) \
    || fail "man -l cannot render the installed rshm.1"
[ -z "$warnings" ] || fail "the installed rshm.1 renders with warnings: $warnings"
grep -q '^#compdef rshm' "$share/zsh/site-functions/_rshm" || fail "_rshm is not a zsh completion"
bash -n "$share/bash-completion/completions/rshm" || fail "the bash completion does not parse"
# ---- end of the man page and completions ----

# make uninstall removes exactly what make install put there.
cd "$OLDPWD"
${MAKE:-make} --no-print-directory -s uninstall PREFIX="$PREFIX_DIR" > /dev/null
left=$(find "$PREFIX_DIR" -mindepth 1 -not -type d)
[ -z "$left" ] || fail "uninstall left: $left"
for dir in include/rshm lib/cmake/rshm share/doc/rshm; do
    [ ! -d "$PREFIX_DIR/$dir" ] || fail "uninstall left the folder $dir"
done
echo "install: soname chain, ldconfig (librshm and the preload each under its own soname), pkg-config builds (shared, static with Libs.private, compat header, preload), the rshm command; uninstall leaves nothing"
