/* rshm_compat.h: run legacy System V IPC sources through rshm without
 * editing them. Include it after the system headers, or force it first with
 *
 *     cc -include rshm_compat.h -I<dir of rshm.h> legacy.c -lrshm
 *
 * and every ftok, shmget, shmat, shmdt and shmctl in the source, and every
 * semget, semop, semtimedop, semctl, msgget, msgsnd, msgrcv and msgctl,
 * becomes the rshm_ call of the same signature: the same results and errno as glibc (but
 * for rshm's documented strict list), plus rshm_last_error() after a failure.
 *
 * The system headers are included here first, so that their declarations keep
 * the real names; the macros below then apply to the rest of the source. Hand-
 * written (not generated); see README.md, "Drop-in for legacy code". */
#ifndef RSHM_COMPAT_H
#define RSHM_COMPAT_H

#include <sys/types.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/sem.h>
#include <sys/msg.h>

#include "rshm.h"

#define ftok rshm_ftok
#define shmget rshm_shmget
#define shmat rshm_shmat
#define shmdt rshm_shmdt
#define shmctl rshm_shmctl
#define semget rshm_semget
#define semop rshm_semop
#define semtimedop rshm_semtimedop
#define semctl rshm_semctl
#define msgget rshm_msgget
#define msgsnd rshm_msgsnd
#define msgrcv rshm_msgrcv
#define msgctl rshm_msgctl

#endif /* RSHM_COMPAT_H */
