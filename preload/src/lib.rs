//! `librshm_preload.so`: `ftok`, `shmget`, `shmat`, `shmdt` and `shmctl`
//! themselves, over rshm's core, for unchanged binaries (`LD_PRELOAD`).
//!
//! By default every call behaves exactly as glibc's; `RSHM_STRICT=1` applies
//! rshm's strict validation, `RSHM_TRACE=1` (or `=/path`) logs each call, and
//! `RSHM_LEAK_CHECK=1` reports, when the whole traced program is done, the
//! objects it made and left behind;
//! a privileged process (setuid, setgid, capabilities) reads none of them.
//! No call allocates or takes a lock, failing or traced: the five are
//! async-signal-safe, as glibc's are, and safe in children of `_Fork`.

// The exports take raw pointers from C, where no call is `unsafe`; each one
// hands them to rshm's core, which passes them to the kernel (bad ones are EFAULT).
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod exports;
mod family;
mod leaks;
mod line;
mod procfs;
mod run;
mod settings;
mod trace;

/// When the library is loaded, before `main`: reads the settings (saying what
/// it does not understand) and, if asked, joins the leak check's run.
extern "C" fn at_load() {
    settings::load();
    if settings::leak_check() {
        leaks::start();
    }
}

#[used]
#[link_section = ".init_array"]
static AT_LOAD: extern "C" fn() = at_load;
