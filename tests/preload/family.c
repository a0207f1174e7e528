/* family use|strict|leak|clean: the semaphore and message queue calls of an
 * unchanged program, for the preload's tests (tests/run/preload_family.sh).
 * Plain libc calls: the preload takes them over.
 *   use     a set of 2 and a queue: SETVAL, semop, semtimedop, GETVAL,
 *           msgsnd, msgrcv by type, IPC_STAT, then removes both; prints what
 *           it saw, which must be the same with and without the preload.
 *   strict  msgget with IPC_NOWAIT (an undefined flag for msgget): prints
 *           the result and errno (RSHM_STRICT=1 refuses it with EINVAL).
 *   leak    makes a keyed set (key 0x5253ee11, IPC_CREAT|IPC_EXCL), a private
 *           queue and a keyed queue with IPC_CREAT alone (key 0x5253ee14, new),
 *           opens an existing keyed queue with IPC_CREAT (0x5253ee12, made by
 *           "clean" before: not its own), removes nothing.
 *   clean   makes the keyed queue 0x5253ee12 that "leak" opens, and a set and
 *           a queue that it removes. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <time.h>

struct text { long mtype; char mtext[32]; };

static int use(void) {
    int set = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    int queue = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (set < 0 || queue < 0) { perror("get"); return 1; }
    struct sembuf up = { 1, 2, 0 }, down = { 1, -1, SEM_UNDO };
    struct timespec soon = { 0, 1000000 };
    int ok = semctl(set, 0, SETVAL, 5) == 0 && semop(set, &up, 1) == 0
        && semtimedop(set, &down, 1, &soon) == 0;
    printf("values %d %d\n", semctl(set, 0, GETVAL), semctl(set, 1, GETVAL));
    struct sembuf wait_zero = { 1, 0, IPC_NOWAIT };
    int ret = semop(set, &wait_zero, 1);
    printf("wait for zero: %d errno %s\n", ret, errno == EAGAIN ? "EAGAIN" : "other");
    struct text a = { 2, "second" }, b = { 1, "first" }, got;
    ok = ok && msgsnd(queue, &a, 7, 0) == 0 && msgsnd(queue, &b, 6, IPC_NOWAIT) == 0;
    ssize_t n = msgrcv(queue, &got, sizeof got.mtext, -2, 0);
    printf("lowest type: %zd bytes, type %ld, %s\n", n, got.mtype, got.mtext);
    n = msgrcv(queue, &got, 3, 0, MSG_NOERROR);
    printf("cut: %zd bytes, type %ld\n", n, got.mtype);
    n = msgrcv(queue, &got, 32, 0, IPC_NOWAIT);
    printf("empty: %zd errno %s\n", n, errno == ENOMSG ? "ENOMSG" : "other");
    struct msqid_ds ds;
    ok = ok && msgctl(queue, IPC_STAT, &ds) == 0;
    printf("queue: %lu messages, mode %o\n", (unsigned long)ds.msg_qnum, ds.msg_perm.mode & 0777);
    ok = ok && semctl(set, 0, IPC_RMID) == 0 && msgctl(queue, IPC_RMID, NULL) == 0;
    printf("%s\n", ok ? "all calls succeeded" : "a call failed");
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "use";
    if (strcmp(mode, "use") == 0) return use();
    if (strcmp(mode, "strict") == 0) {
        int id = msgget(IPC_PRIVATE, IPC_CREAT | IPC_NOWAIT | 0600);
        printf("msgget: %s errno %s\n", id >= 0 ? "ok" : "-1", id >= 0 ? "0" : errno == EINVAL ? "EINVAL" : "other");
        if (id >= 0) msgctl(id, IPC_RMID, NULL);
        return 0;
    }
    if (strcmp(mode, "leak") == 0) {
        int set = semget(0x5253ee11, 1, IPC_CREAT | IPC_EXCL | 0600);
        int queue = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
        int theirs = msgget(0x5253ee12, IPC_CREAT | 0600);
        int keyed = msgget(0x5253ee14, IPC_CREAT | 0600);
        return set >= 0 && queue >= 0 && theirs >= 0 && keyed >= 0 ? 0 : 1;
    }
    if (strcmp(mode, "clean") == 0) {
        int keyed = msgget(0x5253ee12, IPC_CREAT | IPC_EXCL | 0600);
        int set = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
        int queue = msgget(0x5253ee13, IPC_CREAT | 0600);
        int ok = keyed >= 0 && set >= 0 && queue >= 0 && semctl(set, 0, IPC_RMID) == 0
            && msgctl(queue, IPC_RMID, NULL) == 0;
        return ok ? 0 : 1;
    }
    fprintf(stderr, "usage: family use|strict|leak|clean\n");
    return 2;
}
