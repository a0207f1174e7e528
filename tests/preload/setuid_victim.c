/* A setuid-root program linked against librshm_preload.so (not preloaded: in
 * secure mode the loader ignores LD_PRELOAD paths with a slash), for the
 * privileged-process test in tests/run/preload.sh. It says whom it runs as,
 * whether the loader ran it in secure mode, where its shmget comes from and
 * whether strict validation refused a shmat with permission bits as flags;
 * then it makes, attaches, detaches and removes a segment, so that every
 * setting (RSHM_TRACE, RSHM_STRICT, RSHM_LEAK_CHECK) has something to act on. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

int main(void) {
    Dl_info where;
    const char *from = dladdr((void *)shmget, &where) && where.dli_fname ? where.dli_fname : "?";
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    if (id < 0) { perror("shmget"); return 1; }
    void *p = shmat(id, NULL, 0666); /* glibc attaches; RSHM_STRICT=1 refuses */
    int refused = p == (void *)-1 && errno == EINVAL;
    if (!refused && (p == (void *)-1 || shmdt(p) != 0)) { perror("shmat/shmdt"); return 1; }
    if (shmctl(id, IPC_RMID, NULL) != 0) { perror("shmctl"); return 1; }
    printf("ruid=%d euid=%d secure=%lu strict=%s shmget=%s\n", (int)getuid(), (int)geteuid(),
           getauxval(AT_SECURE), refused ? "on" : "off", from);
    return 0;
}
