#!/bin/sh
# rshm's CMake package: make install into a scratch prefix (which needs no CMake), then
#   - tests/cmake, a project that says find_package(rshm CONFIG REQUIRED), builds a C++17
#     program against rshm::rshm and against rshm::rshm_static and a C one against
#     rshm::rshm_static; each runs, the shared one needs the soname, the static ones none;
#   - tests/cmake/probe: the version rule is SameMinorVersion (0.x: another minor is another
#     ABI), components are refused, the targets' properties are what make install knows
#     (the static one's link libraries are target/native-static-libs), and a moved install
#     still finds its files.
# Programs run in an IPC namespace of their own. Run from the source tree by make cmake-test.
set -eu
command -v cmake > /dev/null || { echo "cmake-test: cmake is missing (.ci/deps installs it)"; exit 1; }
test_name=cmake-test
. "$(dirname "$0")/scratch_install.sh"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
major=${version%%.*} minor_patch=${version#*.}
minor=${minor_patch%%.*} patch=${minor_patch#*.}
if [ "$major" = 0 ]; then soname=librshm.so.0.$minor; else soname=librshm.so.$major; fi

# The consumer, built as a user would.
build=$work/build
cmake -S "$root/tests/cmake" -B "$build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER="${CC:-cc}" -DCMAKE_CXX_COMPILER="${CXX:-c++}" > "$work/configure.log" 2>&1 \
    || { cat "$work/configure.log"; fail "tests/cmake does not configure against the installed package"; }
cmake --build "$build" > "$work/build.log" 2>&1 || { cat "$work/build.log"; fail "tests/cmake does not build"; }
runs() { # runs PROGRAM EXPECTED_LINE
    (cd "$work" && "$here/isolated.sh" "$build/$1" > "$work/$1.out" 2>&1) || { cat "$work/$1.out"; fail "$1 fails"; }
    grep -qx "$2" "$work/$1.out" || { cat "$work/$1.out"; fail "$1 does not print '$2'"; }
}
runs consumer_shared "cmake consumer: found by find_package $version"
runs consumer_static "cmake consumer: found by find_package $version"
runs consumer_c "cmake consumer (C): static $version"
readelf -d "$build/consumer_shared" | grep -q "NEEDED.*\[$soname\]" || fail "consumer_shared does not need $soname"
for static in consumer_static consumer_c; do
    ! readelf -d "$build/$static" | grep -q librshm || fail "$static, linked with rshm::rshm_static, needs librshm.so"
done

# The version rule, judged by the probe project (no compiler). probe WANT [PREFIX] prints
# the probe's lines: "found=1 version=..." or "found=0 ...", then one line per target.
probe() {
    rm -rf "$work/probe"
    cmake -S "$root/tests/cmake/probe" -B "$work/probe" -DCMAKE_PREFIX_PATH="${2:-$prefix}" -DRSHM_WANT="$1" \
        > "$work/probe.log" 2>&1 || { cat "$work/probe.log"; fail "the probe does not configure (RSHM_WANT=$1)"; }
    sed -n 's/^-- probe: //p' "$work/probe.log"
}
accepts() { probe "$1" | grep -qx "found=1 version=$version" || fail "find_package(rshm $1) does not find rshm $version"; }
refuses() { probe "$1" | grep -q "^found=0 " || fail "find_package(rshm $1) accepts rshm $version"; }
accepts ""
accepts "$major.$minor"
accepts "$major.$minor.0"
accepts "$version"
accepts "$major.$minor...<$major.$((minor + 1))"
refuses "$major.$((minor + 1))"
refuses "$major.$minor.$((patch + 1))"
refuses "$((major + 1)).0"
[ "$minor" -gt 0 ] && refuses "$major.$((minor - 1))"
[ "$minor" -gt 0 ] && refuses "$major.$((minor - 1))...$major.$minor"
refuses "$major.$minor;COMPONENTS;cxx"

# The targets: what make install put where, and librshm.a's system libraries.
libs=$(xargs -n1 < target/native-static-libs | sed 's/^-l//' | paste -sd ';' -)
targets() { # targets PREFIX: the probe's lines for both targets, as they must read
    echo "rshm::rshm type=SHARED_LIBRARY location=$1/lib/librshm.so.$version includes=$1/include/rshm libs=libs-NOTFOUND"
    echo "rshm::rshm_static type=STATIC_LIBRARY location=$1/lib/librshm.a includes=$1/include/rshm libs=$libs"
}
probe "$major.$minor" | grep '^rshm::' > "$work/targets"
targets "$prefix" | diff -u - "$work/targets" || fail "the targets' properties differ from the installed files"
# Moved elsewhere, the package finds its files there.
mv "$prefix" "$work/moved"
probe "$major.$minor" "$work/moved" | grep '^rshm::' > "$work/targets"
mkdir "$prefix"
targets "$work/moved" | diff -u - "$work/targets" || fail "a moved install's package names the old paths"

echo "cmake: find_package(rshm CONFIG) builds C++17 and C programs on rshm::rshm and rshm::rshm_static; SameMinorVersion; the targets name the installed files and system libraries"
