/* proctitle: sets its process title the way nginx and PostgreSQL do (their
 * setproctitle): moves the environment to new memory, then writes the title
 * over the whole area that held argv and the environment strings. Only then
 * does it make its first shared memory call (a segment made and removed), and
 * prints "done". For tests/run/preload.sh: the preload must have kept what it
 * needs (RSHM_TRACE's path) from before the title was written. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

extern char **environ;

int main(int argc, char **argv) {
    (void)argc;
    /* The area: from argv[0] to the end of the last environment string, contiguous at exec. */
    char *start = argv[0], *end = argv[0] + strlen(argv[0]) + 1;
    for (int i = 1; argv[i] && argv[i] == end; i++) end = argv[i] + strlen(argv[i]) + 1;
    int n = 0;
    while (environ[n]) n++;
    for (int i = 0; i < n && environ[i] == end; i++) end = environ[i] + strlen(environ[i]) + 1;
    /* The environment moves to new memory, as setproctitle implementations do. */
    char **moved = calloc((size_t)n + 1, sizeof *moved);
    if (!moved) return 1;
    for (int i = 0; i < n; i++)
        if (!(moved[i] = strdup(environ[i]))) return 1;
    environ = moved;
    /* The title, repeated over the whole area (the old strings are gone). */
    static const char title[] = "process serving connections my ";
    for (char *p = start; p < end - 1; p++) *p = title[(size_t)(p - start) % (sizeof title - 1)];
    end[-1] = '\0';
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    if (id < 0 || shmctl(id, IPC_RMID, NULL) != 0) { perror("shmget/shmctl"); return 1; }
    printf("done\n");
    return 0;
}
