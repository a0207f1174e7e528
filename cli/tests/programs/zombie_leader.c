/* A live process whose main thread has exited: a second thread makes a
 * segment (attached and detached), a semaphore set (one semop) and a queue
 * (one message), so the process is their creator and last user; it prints
 * their ids and runs until killed, while the main thread calls pthread_exit.
 * /proc/PID/stat then shows the leader as Z, and the process is alive.
 * Built and run by cli/tests/liveness.rs. */
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

struct message {
    long mtype;
    char text[14];
};

static void *worker(void *unused) {
    (void)unused;
    int shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    void *at = shm < 0 ? (void *)-1 : shmat(shm, NULL, 0);
    if (at == (void *)-1 || shmdt(at) != 0) {
        perror("zombie_leader: segment");
        exit(1);
    }
    int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    struct sembuf op = {0, 1, 0};
    if (sem < 0 || semop(sem, &op, 1) != 0) {
        perror("zombie_leader: semaphore set");
        exit(1);
    }
    int msg = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    struct message m = {1, "for the reader"};
    if (msg < 0 || msgsnd(msg, &m, sizeof m.text, 0) != 0) {
        perror("zombie_leader: queue");
        exit(1);
    }
    printf("%d %d %d\n", shm, sem, msg);
    fflush(stdout);
    for (;;)
        pause();
    return NULL;
}

int main(void) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, worker, NULL) != 0) {
        fputs("zombie_leader: pthread_create failed\n", stderr);
        return 1;
    }
    pthread_exit(NULL);
}
