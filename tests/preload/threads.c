#define _GNU_SOURCE
/* Under the preload: eight threads create, attach, write, detach and remove
 * segments while the main thread forks children that use shared memory at
 * once. No deadlock (each child has 10 s), no lost attachment, nothing left. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

static void *worker(void *arg) {
    long t = (long)arg;
    for (int i = 0; i < 300; i++) {
        int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
        if (id < 0) return (void *)1;
        char *p = shmat(id, NULL, 0);
        if (p == (void *)-1) return (void *)2;
        memset(p, (int)t, 4096);
        if (p[4095] != (char)t) return (void *)3;
        if (shmdt(p + 1) != -1) return (void *)4; /* inside the segment: refused */
        if (shmdt(p) != 0 || shmctl(id, IPC_RMID, NULL) != 0) return (void *)5;
    }
    return NULL;
}

int main(void) {
    pthread_t threads[8];
    for (long t = 0; t < 8; t++) pthread_create(&threads[t], NULL, worker, (void *)t);
    int children_ok = 1;
    for (int c = 0; c < 40; c++) {
        pid_t pid = fork();
        if (pid == 0) {
            alarm(10);
            int id = shmget(IPC_PRIVATE, 100, IPC_CREAT | 0600);
            void *p = shmat(id, NULL, 0);
            int ok = id >= 0 && p != (void *)-1 && shmdt(p) == 0 && shmctl(id, IPC_RMID, NULL) == 0;
            _exit(ok ? 0 : 1);
        }
        int status;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "child %d: %s\n", c, WIFSIGNALED(status) ? "hung or crashed" : "failed");
            children_ok = 0;
        }
    }
    int threads_ok = 1;
    for (int t = 0; t < 8; t++) {
        void *result;
        pthread_join(threads[t], &result);
        if (result != NULL) {
            fprintf(stderr, "thread %d failed at step %ld\n", t, (long)result);
            threads_ok = 0;
        }
    }
    struct shm_info info;
    int left = shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)&info) >= 0 ? info.used_ids : -1;
    printf("threads: %s, forked children: %s, segments left: %d\n", threads_ok ? "ok" : "FAILED",
           children_ok ? "ok" : "FAILED", left);
    return threads_ok && children_ok && left == 0 ? 0 : 1;
}
