/* A C89 program against the installed rshm.h, built with -std=c89 -pedantic -Wall -Wextra
 * -Werror: RSHM_OPTIONS_INIT and rshm_options_init, a segment by key and by id, a
 * semaphore, the version macros, and the statuses. tests/run/c89.sh builds and runs it.
 * Prints "c89 consumer: N passed, M failed". */
#include <stdio.h>
#include <string.h>

#include "rshm.h"

#if RSHM_VERSION_NUMBER != RSHM_VERSION_MAJOR * 1000000 + RSHM_VERSION_MINOR * 1000 + RSHM_VERSION_PATCH
#error "RSHM_VERSION_NUMBER does not match RSHM_VERSION_MAJOR, _MINOR and _PATCH"
#endif

static int passed, failed;

static void check(int ok, const char *what, int line) {
    if (ok) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "FAIL %s:%d: %s (%s)\n", __FILE__, line, what, rshm_last_error());
    }
}
#define CHECK(cond) check((cond) != 0, #cond, __LINE__)

int main(void) {
    rshm_options opts = RSHM_OPTIONS_INIT; /* a constant initializer: valid C89 */
    rshm_options by_id;
    rshm_segment *seg = NULL, *again = NULL;
    rshm_sem *sem = NULL;
    unsigned int value = 0;
    char text[32];

    CHECK(opts.struct_size == sizeof(rshm_options) && opts.path == NULL && opts.flags == 0);
    opts.key = 0x52534389;
    opts.size = 4096;
    opts.flags = RSHM_CREATE | RSHM_EXCLUSIVE | RSHM_REMOVE_ON_CLOSE;
    CHECK(rshm_open(&opts, &seg) == RSHM_OK);
    CHECK(rshm_write_str(seg, 0, "from C89") == RSHM_OK);
    CHECK(rshm_write(seg, 4090, "too long", 8) == RSHM_ERR_OUT_OF_BOUNDS);
    CHECK(strncmp(rshm_status_str(RSHM_ERR_OUT_OF_BOUNDS), "RSHM_ERR_OUT_OF_BOUNDS", 22) == 0);

    rshm_options_init(&by_id);
    CHECK(by_id.struct_size == sizeof(rshm_options) && by_id.key == IPC_PRIVATE);
    by_id.flags = RSHM_BY_ID | RSHM_READ_ONLY;
    by_id.id = rshm_id(seg);
    CHECK(rshm_open(&by_id, &again) == RSHM_OK);
    CHECK(rshm_read_str(again, 0, text, sizeof text) == RSHM_OK && strcmp(text, "from C89") == 0);
    CHECK(rshm_write_str(again, 0, "no") == RSHM_ERR_READ_ONLY);
    rshm_close(again);

    opts.flags = RSHM_CREATE | RSHM_EXCLUSIVE;
    CHECK(rshm_sem_open(&opts, 2, &sem) == RSHM_OK);
    CHECK(rshm_sem_wait(sem, 0) == RSHM_OK);
    CHECK(rshm_sem_value(sem, &value) == RSHM_OK && value == 1);
    CHECK(rshm_sem_remove(sem) == RSHM_OK);
    rshm_sem_close(sem);
    rshm_close(seg);

    CHECK(strcmp(rshm_version(), RSHM_VERSION) == 0 && rshm_version_number() == RSHM_VERSION_NUMBER);
    printf("c89 consumer: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
