/* rshm_compat.h: run legacy SysV shared-memory sources through rshm without
 * editing them. Include it after the system headers, or force it first with
 *
 *     cc -include rshm_compat.h -I<dir of rshm.h> legacy.c -lrshm
 *
 * and every ftok, shmget, shmat, shmdt and shmctl in the source becomes the
 * rshm_ call of the same signature: the same results and errno as glibc (but
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

#include "rshm.h"

#define ftok rshm_ftok
#define shmget rshm_shmget
#define shmat rshm_shmat
#define shmdt rshm_shmdt
#define shmctl rshm_shmctl

#endif /* RSHM_COMPAT_H */
