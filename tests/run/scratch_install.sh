# Sourced by the scripts that test rshm as installed (install.sh, cpp.sh, cmake.sh, c89.sh),
# with $test_name set: make install into a scratch prefix ($prefix), a scratch folder
# ($work), both removed on exit, fail() naming the test, and pkg-config finding the copy.
# Run from the source tree ($root); $here is tests/run.
here=$(cd "$(dirname "$0")" && pwd)
root=$(pwd)
prefix=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$work" "$prefix"' EXIT
fail() { echo "$test_name: $*"; exit 1; }
${MAKE:-make} --no-print-directory -s install PREFIX="$prefix" > /dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
