#!/bin/sh
# A C89 program against the installed rshm: make install into a scratch prefix, then
# tests/c89/consumer.c built with -std=c89 -pedantic -Wall -Wextra -Werror and the flags
# pkg-config gives, and run in an IPC namespace of its own. Run from the source tree by
# make c89-test.
set -eu
: "${CC:=cc}"
test_name=c89-test
. "$(dirname "$0")/scratch_install.sh"
"$CC" -std=c89 -pedantic -Wall -Wextra -Werror $(pkg-config --cflags rshm) "$root/tests/c89/consumer.c" \
    $(pkg-config --libs rshm) -Wl,-rpath,"$prefix/lib" -o "$work/consumer" || fail "tests/c89/consumer.c does not build as C89"
(cd "$work" && "$here/isolated.sh" ./consumer) || fail "the C89 consumer fails"
echo "c89: a C89 program (-std=c89 -pedantic -Werror) builds and runs against the installed rshm"
