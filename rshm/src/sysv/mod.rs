//! The libc-compatible semaphore and message queue calls over C values:
//! `semget`, `semop`/`semtimedop`, `semctl`, `msgget`, `msgsnd`, `msgrcv`
//! and `msgctl`, with glibc's results and errno for every input and each
//! failure explained (the kernel's limits as it has them now). The success
//! path is one syscall: no allocation, no lock, async-signal-safe.
//! [`Validation::Strict`](crate::Validation) adds the strict list (undefined
//! flag bits), refused with EINVAL before any syscall.

mod lookup;
pub mod msg;
pub mod sem;
mod strict;

pub use msg::{msgctl, msgget, msgrcv, msgsnd};
pub use sem::{semctl, semget, semtimedop};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Validation::{LikeGlibc, Strict};
    use libc::{c_int, c_long, sembuf};

    fn message(error: crate::Error) -> String {
        error.to_string()
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot make syscalls")]
    fn semop_names_the_operation_beyond_the_set() {
        let id = semget(libc::IPC_PRIVATE, 3, libc::IPC_CREAT | 0o600, Strict).unwrap();
        let mut ops = [
            sembuf {
                sem_num: 0,
                sem_op: 1,
                sem_flg: 0,
            },
            sembuf {
                sem_num: 5,
                sem_op: 1,
                sem_flg: 0,
            },
        ];
        // SAFETY: ops is a valid array of two operations; no timeout.
        let error =
            unsafe { semtimedop(id, ops.as_mut_ptr(), 2, std::ptr::null(), false) }.unwrap_err();
        // SAFETY: IPC_RMID reads no argument.
        unsafe { semctl(id, 0, libc::IPC_RMID, 0) }.unwrap();
        assert_eq!(error.errno(), libc::EFBIG);
        assert!(
            message(error).ends_with(": sops[1].sem_num is 5 but the set has 3 semaphores (EFBIG)"),
            "{error}"
        );
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot make syscalls")]
    fn msgsnd_explains_a_bad_type_and_a_size_above_msgmax() {
        let id = msgget(libc::IPC_PRIVATE, libc::IPC_CREAT | 0o600, Strict).unwrap();
        let max = crate::ipc::queue_limits().unwrap().max_message as usize;
        let mut message = vec![0u8; 8 + max + 1000]; // valgrind checks the whole msgsz
        message[..8].copy_from_slice(&(0 as c_long).to_ne_bytes());
        // SAFETY: message holds a type and max + 1 bytes.
        let bad_type = unsafe { msgsnd(id, message.as_ptr().cast(), 4, libc::IPC_NOWAIT, Strict) };
        message[..8].copy_from_slice(&(1 as c_long).to_ne_bytes());
        // SAFETY: as above.
        let too_long = unsafe { msgsnd(id, message.as_ptr().cast(), max + 1000, 0, Strict) };
        // SAFETY: as above (the kernel reads nothing beyond MSGMAX).
        let with_type = unsafe { msgsnd(id, message.as_ptr().cast(), max + 8, 0, Strict) };
        // SAFETY: IPC_RMID reads no buffer.
        unsafe { msgctl(id, libc::IPC_RMID, std::ptr::null_mut()) }.unwrap();
        let bad_type = message_of(bad_type);
        assert!(
            bad_type.ends_with(": mtype must be greater than 0 (it is 0) (EINVAL)"),
            "{bad_type}"
        );
        let too_long = message_of(too_long);
        let want = format!(
            ": msgsz {} exceeds MSGMAX {max} (the largest message; kernel.msgmax) (EINVAL)",
            max + 1000
        );
        assert!(too_long.ends_with(&want), "{too_long}");
        let with_type = message_of(with_type);
        assert!(
            with_type.contains("msgsz counts the text alone, not the long before it"),
            "{with_type}"
        );
    }

    fn message_of<T: std::fmt::Debug>(result: crate::Result<T>) -> String {
        message(result.unwrap_err())
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot make syscalls")]
    fn semget_names_semmsl_as_the_kernel_has_it() {
        let semmsl = crate::ipc::semaphore_limits().unwrap().max_per_set;
        let error = semget(
            libc::IPC_PRIVATE,
            semmsl as c_int + 1,
            libc::IPC_CREAT | 0o600,
            Strict,
        )
        .unwrap_err();
        let want = format!("nsems {} exceeds SEMMSL {semmsl} (the most semaphores in one set; kernel.sem) (EINVAL)", semmsl + 1);
        assert!(error.to_string().ends_with(&want), "{error}");
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot make syscalls")]
    fn strict_refuses_undefined_flags_before_the_kernel_and_glibc_mode_passes_them() {
        let strict = msgget(
            libc::IPC_PRIVATE,
            libc::IPC_CREAT | libc::IPC_NOWAIT | 0o600,
            Strict,
        )
        .unwrap_err();
        assert_eq!(strict.errno(), libc::EINVAL);
        assert_eq!(
            strict.to_string(),
            "msgget(key=0x00000000, flags=IPC_CREAT|04000|0600): flags has bits 04000 that msgget \
             does not use (strict list: the kernel would ignore them) (EINVAL)"
        );
        let id = msgget(
            libc::IPC_PRIVATE,
            libc::IPC_CREAT | libc::IPC_NOWAIT | 0o600,
            LikeGlibc,
        )
        .unwrap();
        // SAFETY: IPC_RMID reads no buffer.
        unsafe { msgctl(id, libc::IPC_RMID, std::ptr::null_mut()) }.unwrap();
    }
}
