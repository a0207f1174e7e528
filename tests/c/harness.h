/* A tiny test harness for rshm's C tests: CHECK records a failure and goes on;
 * the program ends with the plain summary line "N passed, M failed". */
#ifndef RSHM_TEST_HARNESS_H
#define RSHM_TEST_HARNESS_H

#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int harness_passed, harness_failed;

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (cond) {                                                           \
            harness_passed++;                                                 \
        } else {                                                              \
            harness_failed++;                                                 \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);   \
            fprintf(stderr, __VA_ARGS__);                                     \
            fputc('\n', stderr);                                              \
        }                                                                     \
    } while (0)

/* Every test gets a private IPC namespace, so it can neither see nor leave
 * segments outside itself; it needs root (or CAP_SYS_ADMIN). */
static void enter_private_ipc_namespace(void) {
    if (unshare(CLONE_NEWIPC) != 0) {
        fprintf(stderr, "unshare(CLONE_NEWIPC): %s: rshm's C tests need root for a private IPC namespace\n",
                strerror(errno));
        exit(2);
    }
}

/* Whether this runs under valgrind (its preload is in LD_PRELOAD): a test shrinks its loops. */
__attribute__((unused)) static int harness_under_valgrind(void) {
    const char *preload = getenv("LD_PRELOAD");
    return preload != NULL && strstr(preload, "vgpreload") != NULL;
}

#ifdef RSHM_TEST_PRELOAD
#include <dlfcn.h>
#include <sys/shm.h>
/* A test of the preload's calls (built with -DRSHM_TEST_PRELOAD) exits 2 unless shmat comes
 * from the preload. */
static void harness_require_preload(void) {
    Dl_info where;
    if (!dladdr((void *)shmat, &where) || strstr(where.dli_fname, "rshm_preload") == NULL) {
        fprintf(stderr, "shmat comes from %s, not the preload: run under LD_PRELOAD\n",
                where.dli_fname ? where.dli_fname : "?");
        exit(2);
    }
}
#endif

static int harness_summary(const char *name) {
    printf("%s: %d passed, %d failed\n", name, harness_passed, harness_failed);
    return harness_failed == 0 ? 0 : 1;
}

#endif
