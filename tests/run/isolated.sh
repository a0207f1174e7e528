#!/bin/sh
# isolated.sh COMMAND [ARGS...]: runs COMMAND in an IPC namespace of its own
# (as root: unshare -i) and, inside it, after COMMAND, fails if any shared
# memory segment, semaphore set or message queue is left. Other programs'
# objects on the machine are never seen, and a namespace's objects vanish
# with its last process, so the check must happen in here. Without the right
# to make a namespace, it runs in this one and compares the counts before
# and after (other programs may disturb that).
set -u
if [ "${RSHM_ISOLATED:-}" != 1 ] && unshare -i true 2> /dev/null; then
    RSHM_ISOLATED=1 exec unshare -i "$0" "$@"
fi
objects() { ipcs -m -s -q 2> /dev/null | grep -c '^0x'; }
before=$(objects)
"$@"
status=$?
left=$(objects)
if [ "$status" -eq 0 ] && [ "$left" -ne "$before" ]; then
    echo "isolated: '$*' left SysV objects behind:" >&2
    ipcs -m -s -q -p >&2
    exit 1
fi
exit "$status"
