//! Differential fuzzing of the semaphore and message queue calls: random
//! sequences of `semget`, `semop`, `semtimedop`, `semctl`, `msgget`,
//! `msgsnd`, `msgrcv` and `msgctl` (with bad ids, pointers, sizes, types,
//! flags and commands, full queues, permission changes and calls as another
//! user), each run from an empty IPC namespace through glibc, through rshm's
//! `rshm_` calls and through the preload library's exports. Every result,
//! errno, buffer and the final state must be equal, except the documented
//! strict cases, which `rshm_` must refuse with EINVAL (the glibc run it is
//! compared with skips them). Random calls never wait (`IPC_NOWAIT`, or a
//! zero timeout); waiters, removals under waiters, signals and timeouts are a
//! fixed set of scenarios (`waiters_*` below).
//!
//! `RSHM_FUZZ_CASES` sets the number of sequences (default 20,000: `make
//! test`); `RSHM_PRELOAD_LIB` names librshm_preload.so (without it, that leg
//! is skipped and the test says so). Needs root for the namespaces.

use libc::{c_char, c_int, c_long, c_void, key_t, msqid_ds, sembuf, ssize_t, timespec};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const KEYS: [key_t; 3] = [0x52534701, 0x52534702, 0x52534703];
const SEM_STAT: c_int = 18;
const SEM_INFO: c_int = 19;
const SEM_STAT_ANY: c_int = 20;
const MSG_STAT: c_int = 11;
const MSG_INFO: c_int = 12;
const MSG_STAT_ANY: c_int = 13;
const MSG_EXCEPT: c_int = 0o20000;
const MSG_COPY: c_int = 0o40000;
const SEM_UNDO: i16 = 0x1000;
/// The largest text a message may have in a fresh namespace (kernel.msgmax).
const MSGMAX: usize = 8192;

/// The user the runs become: a uid of this process's own (no account needed).
fn own_user() -> u32 {
    0x5253_0000 + std::process::id() % 0x1_0000
}

#[derive(Debug, Clone, Copy)]
enum KeyArg {
    Private,
    Slot(usize),
    Raw(key_t),
}

#[derive(Debug, Clone, Copy)]
enum IdArg {
    Made(usize),
    Raw(c_int),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Ptr {
    Good,
    Null,
    Unmapped,
    ProtNone,
}

#[derive(Debug, Clone, Copy)]
enum Timeout {
    /// semop: every operation gets IPC_NOWAIT.
    Untimed,
    /// semtimedop with a zero timeout (never waits).
    Zero,
    /// semtimedop with NULL: operations get IPC_NOWAIT.
    Null,
    /// semtimedop with a timeout that is not a time span (EINVAL).
    Bad(i64, i64),
    /// semtimedop with an unreadable timeout.
    Unmapped,
}

#[derive(Debug, Clone)]
enum Op {
    Semget(KeyArg, c_int, c_int),
    Semop(IdArg, Vec<(u16, i16, i16)>, Option<usize>, Ptr, Timeout),
    Semctl(IdArg, c_int, c_int, Ptr, i32, Vec<u16>, u32, u32),
    Msgget(KeyArg, c_int),
    Msgsnd(IdArg, c_long, usize, Ptr, c_int),
    Msgrcv(IdArg, usize, c_long, Ptr, c_int),
    Msgctl(IdArg, c_int, Ptr, u32, u32, u64),
    BecomeUser,
    BecomeRoot,
}

fn key() -> impl Strategy<Value = KeyArg> {
    prop_oneof![
        2 => Just(KeyArg::Private),
        4 => (0usize..KEYS.len()).prop_map(KeyArg::Slot),
        1 => any::<key_t>().prop_map(KeyArg::Raw),
    ]
}

fn id() -> impl Strategy<Value = IdArg> {
    prop_oneof![
        12 => (0usize..6).prop_map(IdArg::Made),
        1 => prop::sample::select(vec![-1, 0, 1, 32768, c_int::MAX, c_int::MIN]).prop_map(IdArg::Raw),
        1 => any::<c_int>().prop_map(IdArg::Raw),
    ]
}

fn get_flags() -> impl Strategy<Value = c_int> {
    let named = prop::sample::subsequence(
        vec![
            libc::IPC_CREAT,
            libc::IPC_CREAT,
            libc::IPC_CREAT,
            libc::IPC_EXCL,
        ],
        0..3,
    )
    .prop_map(|flags| flags.into_iter().fold(0, |all, flag| all | flag));
    (
        named,
        prop_oneof![4 => Just(0o600), 4 => 0..=0o777i32],
        prop_oneof![16 => Just(0), 1 => Just(libc::IPC_NOWAIT), 1 => any::<c_int>()],
    )
        .prop_map(|(named, mode, extra)| named | mode | extra)
}

fn ptr() -> impl Strategy<Value = Ptr> {
    prop_oneof![
        12 => Just(Ptr::Good),
        1 => Just(Ptr::Null),
        1 => Just(Ptr::Unmapped),
        1 => Just(Ptr::ProtNone),
    ]
}

fn sem_op() -> impl Strategy<Value = (u16, i16, i16)> {
    (
        prop_oneof![8 => 0u16..4, 1 => Just(250u16), 1 => any::<u16>()],
        prop_oneof![4 => -2i16..=2, 1 => Just(i16::MIN), 1 => Just(i16::MAX), 1 => any::<i16>()],
        prop_oneof![
            6 => Just(0i16),
            3 => Just(SEM_UNDO),
            1 => Just(libc::IPC_NOWAIT as i16),
            1 => any::<i16>(),
        ],
    )
}

fn timeout() -> impl Strategy<Value = Timeout> {
    prop_oneof![
        6 => Just(Timeout::Untimed),
        3 => Just(Timeout::Zero),
        2 => Just(Timeout::Null),
        1 => prop::sample::select(vec![(-1i64, 0i64), (0, -1), (0, 1_000_000_000), (i64::MIN, 0)])
            .prop_map(|(s, n)| Timeout::Bad(s, n)),
        1 => Just(Timeout::Unmapped),
    ]
}

fn semctl_cmd() -> impl Strategy<Value = c_int> {
    prop_oneof![
        10 => prop::sample::select(vec![
            libc::IPC_STAT, libc::IPC_SET, libc::IPC_RMID, libc::IPC_INFO, SEM_INFO, SEM_STAT,
            SEM_STAT_ANY, libc::GETALL, libc::GETNCNT, libc::GETPID, libc::GETVAL, libc::GETZCNT,
            libc::SETALL, libc::SETVAL, libc::SETVAL, libc::GETVAL,
        ]),
        1 => Just(libc::IPC_STAT | 0x100),
        1 => any::<c_int>(),
    ]
}

fn msgctl_cmd() -> impl Strategy<Value = c_int> {
    prop_oneof![
        8 => prop::sample::select(vec![
            libc::IPC_STAT, libc::IPC_SET, libc::IPC_RMID, libc::IPC_INFO, MSG_INFO, MSG_STAT, MSG_STAT_ANY,
        ]),
        1 => Just(libc::IPC_STAT | 0x100),
        1 => any::<c_int>(),
    ]
}

fn msg_size() -> impl Strategy<Value = usize> {
    prop_oneof![
        8 => prop::sample::select(vec![0usize, 1, 7, 100, 4096, MSGMAX - 1, MSGMAX]),
        8 => 0usize..300,
        1 => prop::sample::select(vec![MSGMAX + 1, 16384, usize::MAX, 1 << 63, i32::MAX as usize + 1]),
    ]
}

fn msg_type() -> impl Strategy<Value = c_long> {
    prop_oneof![
        8 => -4 as c_long..=4,
        1 => prop::sample::select(vec![c_long::MIN, c_long::MAX, 1000]),
    ]
}

fn msg_flags(base: c_int) -> impl Strategy<Value = c_int> {
    (
        prop_oneof![
            8 => Just(0),
            2 => Just(libc::MSG_NOERROR),
            2 => Just(MSG_EXCEPT),
            2 => Just(MSG_COPY),
            1 => Just(MSG_COPY | MSG_EXCEPT),
        ],
        prop_oneof![12 => Just(0), 1 => any::<c_int>()],
    )
        .prop_map(move |(named, extra)| base | named | extra)
}

fn op() -> impl Strategy<Value = Op> {
    let uid = prop::sample::select(vec![0u32, 65534, 12345]);
    prop_oneof![
        5 => (key(), prop_oneof![16 => 1..5i32, 1 => Just(0), 1 => Just(-1), 1 => Just(32000), 1 => Just(32001), 1 => any::<c_int>()], get_flags())
            .prop_map(|(k, n, f)| Op::Semget(k, n, f)),
        6 => (id(), prop::collection::vec(sem_op(), 1..4), prop_oneof![12 => Just(None), 1 => Just(Some(0)), 1 => Just(Some(501)), 1 => Just(Some(1usize << 32))], ptr(), timeout())
            .prop_map(|(i, ops, n, p, t)| Op::Semop(i, ops, n, p, t)),
        6 => (id(), prop_oneof![6 => 0..4i32, 1 => Just(-1), 1 => any::<c_int>()], semctl_cmd(), ptr(),
              prop_oneof![4 => 0..5i32, 1 => Just(32767), 1 => Just(32768), 1 => Just(-1), 1 => any::<i32>()],
              prop::collection::vec(prop_oneof![8 => 0u16..5, 1 => Just(32767u16), 1 => Just(32768u16)], 8), 0u32..0o1000, uid.clone())
            .prop_map(|(i, n, c, p, v, all, m, u)| Op::Semctl(i, n, c, p, v, all, m, u)),
        4 => (key(), get_flags()).prop_map(|(k, f)| Op::Msgget(k, f)),
        8 => (id(), prop_oneof![12 => 1 as c_long..4, 1 => Just(0), 1 => Just(-1), 1 => any::<c_long>()], msg_size(), ptr(),
              prop_oneof![12 => Just(libc::IPC_NOWAIT), 1 => msg_flags(libc::IPC_NOWAIT)])
            .prop_map(|(i, t, n, p, f)| Op::Msgsnd(i, t, n, p, f)),
        5 => (id(), msg_size(), msg_type(), ptr(), msg_flags(libc::IPC_NOWAIT))
            .prop_map(|(i, n, t, p, f)| Op::Msgrcv(i, n, t, p, f)),
        4 => (id(), msgctl_cmd(), ptr(), 0u32..0o1000, uid, prop_oneof![Just(16384u64), Just(100), Just(1 << 20), Just(0)])
            .prop_map(|(i, c, p, m, u, q)| Op::Msgctl(i, c, p, m, u, q)),
        1 => Just(Op::BecomeUser),
        1 => Just(Op::BecomeRoot),
    ]
}

/// Sequences start with a few objects made the usual way, so that the calls
/// after them reach more than "no such id".
fn sequence() -> impl Strategy<Value = Vec<Op>> {
    let made = prop_oneof![
        (
            key(),
            1..4i32,
            prop_oneof![Just(0o600), Just(0o666), Just(0o640)]
        )
            .prop_map(|(k, n, mode)| Op::Semget(k, n, libc::IPC_CREAT | mode)),
        (key(), prop_oneof![Just(0o600), Just(0o666), Just(0o620)])
            .prop_map(|(k, mode)| Op::Msgget(k, libc::IPC_CREAT | mode)),
    ];
    (
        prop::collection::vec(made, 0..4),
        prop::collection::vec(op(), 1..14),
    )
        .prop_map(|(mut made, ops)| {
            made.extend(ops);
            made
        })
}

extern "C" {
    fn semtimedop(semid: c_int, sops: *mut sembuf, nsops: usize, timeout: *const timespec)
        -> c_int;
}

unsafe extern "C" fn glibc_semctl(semid: c_int, semnum: c_int, cmd: c_int, arg: usize) -> c_int {
    // SAFETY: glibc's variadic semctl, given its fourth word as C would pass it.
    unsafe { libc::semctl(semid, semnum, cmd, arg) }
}

type Semctl = unsafe extern "C" fn(c_int, c_int, c_int, usize) -> c_int;

/// One way of making the eight calls.
#[derive(Clone, Copy)]
struct Api {
    name: &'static str,
    semget: unsafe extern "C" fn(key_t, c_int, c_int) -> c_int,
    semop: unsafe extern "C" fn(c_int, *mut sembuf, usize) -> c_int,
    semtimedop: unsafe extern "C" fn(c_int, *mut sembuf, usize, *const timespec) -> c_int,
    semctl: Semctl,
    msgget: unsafe extern "C" fn(key_t, c_int) -> c_int,
    msgsnd: unsafe extern "C" fn(c_int, *const c_void, usize, c_int) -> c_int,
    msgrcv: unsafe extern "C" fn(c_int, *mut c_void, usize, c_long, c_int) -> ssize_t,
    msgctl: unsafe extern "C" fn(c_int, c_int, *mut msqid_ds) -> c_int,
    last_error: Option<unsafe extern "C" fn() -> *const c_char>,
    skip_strict: bool,
}

const GLIBC: Api = Api {
    name: "glibc",
    semget: libc::semget,
    semop: libc::semop,
    semtimedop,
    semctl: glibc_semctl,
    msgget: libc::msgget,
    msgsnd: libc::msgsnd,
    msgrcv: libc::msgrcv,
    msgctl: libc::msgctl,
    last_error: None,
    skip_strict: false,
};

fn rshm_api() -> Api {
    use rshm_capi::libc_msg::*;
    use rshm_capi::libc_sem::*;
    Api {
        name: "rshm_",
        semget: rshm_semget,
        semop: rshm_semop,
        semtimedop: rshm_semtimedop,
        semctl: rshm_semctl,
        msgget: rshm_msgget,
        msgsnd: rshm_msgsnd,
        msgrcv: rshm_msgrcv,
        msgctl: rshm_msgctl,
        last_error: Some(rshm_capi::last_error::rshm_last_error),
        skip_strict: false,
    }
}

/// The preload library's own exports, taken from it with dlsym (not interposed).
fn preload_api() -> Option<Api> {
    let path = CString::new(std::env::var("RSHM_PRELOAD_LIB").ok()?).ok()?;
    // SAFETY: dlopen/dlsym with valid strings; the symbols have the signatures named
    // (semctl's fourth word as the preload defines it).
    unsafe {
        let lib = libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
        assert!(!lib.is_null(), "cannot dlopen {path:?}");
        let sym = |name: &std::ffi::CStr| {
            let sym = libc::dlsym(lib, name.as_ptr());
            assert!(!sym.is_null(), "{name:?} missing from the preload library");
            sym
        };
        Some(Api {
            name: "preload",
            semget: std::mem::transmute::<
                *mut c_void,
                unsafe extern "C" fn(key_t, c_int, c_int) -> c_int,
            >(sym(c"semget")),
            semop: std::mem::transmute::<
                *mut c_void,
                unsafe extern "C" fn(c_int, *mut sembuf, usize) -> c_int,
            >(sym(c"semop")),
            semtimedop: std::mem::transmute::<
                *mut c_void,
                unsafe extern "C" fn(c_int, *mut sembuf, usize, *const timespec) -> c_int,
            >(sym(c"semtimedop")),
            semctl: std::mem::transmute::<*mut c_void, Semctl>(sym(c"semctl")),
            msgget: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(key_t, c_int) -> c_int>(
                sym(c"msgget"),
            ),
            msgsnd: std::mem::transmute::<
                *mut c_void,
                unsafe extern "C" fn(c_int, *const c_void, usize, c_int) -> c_int,
            >(sym(c"msgsnd")),
            msgrcv: std::mem::transmute::<
                *mut c_void,
                unsafe extern "C" fn(c_int, *mut c_void, usize, c_long, c_int) -> ssize_t,
            >(sym(c"msgrcv")),
            msgctl: std::mem::transmute::<
                *mut c_void,
                unsafe extern "C" fn(c_int, c_int, *mut msqid_ds) -> c_int,
            >(sym(c"msgctl")),
            last_error: None,
            skip_strict: false,
        })
    }
}

/// What one call did, with ids made comparable across runs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Failed(i32),
    Value(i64),
    Id(usize),
    Buffer(i64, Vec<u64>),
    Skipped,
}

/// Everything a run saw: the outcomes, then the namespace's sets and queues.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    outcomes: Vec<Outcome>,
    sets: Vec<Vec<u64>>,
    queues: Vec<Vec<u64>>,
}

/// Memory no call may touch: an unmapped address and a PROT_NONE page.
struct Fixture {
    prot_none: usize,
}

fn errno() -> i32 {
    // SAFETY: always valid.
    unsafe { *libc::__errno_location() }
}

fn set_ids(uid: u32) {
    // Raw syscalls change this thread alone (glibc's wrappers would change every thread).
    // SAFETY: plain syscalls.
    unsafe {
        if uid == 0 {
            libc::syscall(libc::SYS_setresuid, 0, 0, 0);
            libc::syscall(libc::SYS_setresgid, 0, 0, 0);
        } else {
            libc::syscall(libc::SYS_setresgid, uid, uid, 0);
            libc::syscall(libc::SYS_setresuid, uid, uid, 0);
        }
    }
}

impl Fixture {
    fn new() -> Fixture {
        // SAFETY: an anonymous PROT_NONE page, ours alone.
        let page = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                65536,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(page, libc::MAP_FAILED);
        Fixture {
            prot_none: page as usize,
        }
    }

    fn pointer(&self, ptr: Ptr, good: *mut c_void) -> *mut c_void {
        match ptr {
            Ptr::Good => good,
            Ptr::Null => std::ptr::null_mut(),
            Ptr::Unmapped => 16 as *mut c_void,
            Ptr::ProtNone => self.prot_none as *mut c_void,
        }
    }
}

/// A fresh IPC namespace for this thread.
fn fresh_namespace() {
    // SAFETY: unshare affects only this thread's namespaces.
    assert_eq!(
        unsafe { libc::unshare(libc::CLONE_NEWIPC) },
        0,
        "unshare: the fuzzer needs root"
    );
}

/// Whether rshm's strict validation refuses this call (docs/c-api.md, "The strict list").
fn is_strict(op: &Op) -> bool {
    let get_defined = libc::IPC_CREAT | libc::IPC_EXCL | 0o777;
    match *op {
        Op::Semget(_, _, flags) | Op::Msgget(_, flags) => flags & !get_defined != 0,
        Op::Msgsnd(_, _, _, _, flags) => flags & !libc::IPC_NOWAIT != 0,
        Op::Msgrcv(_, _, _, _, flags) => {
            flags & !(libc::IPC_NOWAIT | libc::MSG_NOERROR | MSG_EXCEPT | MSG_COPY) != 0
        }
        _ => false,
    }
}

fn call_name(op: &Op) -> &'static str {
    match op {
        Op::Semget(..) => "semget(",
        Op::Semop(.., Timeout::Untimed) => "semop(",
        Op::Semop(..) => "semtimedop(",
        Op::Semctl(..) => "semctl(",
        Op::Msgget(..) => "msgget(",
        Op::Msgsnd(..) => "msgsnd(",
        Op::Msgrcv(..) => "msgrcv(",
        Op::Msgctl(..) => "msgctl(",
        _ => "",
    }
}

/// The text of a message of `len` bytes and type `mtype`: the same in every run.
fn fill(buf: &mut [u8], mtype: c_long, len: usize) {
    buf[..8].copy_from_slice(&mtype.to_ne_bytes());
    for (i, byte) in buf[8..8 + len.min(MSGMAX)].iter_mut().enumerate() {
        *byte = (i as u8) ^ (mtype as u8) ^ (len as u8);
    }
}

fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

fn semid_digest(ds: &libc::semid_ds) -> Vec<u64> {
    vec![
        ds.sem_perm.__key as u32 as u64,
        ds.sem_perm.mode.into(),
        ds.sem_nsems,
        ds.sem_perm.uid.into(),
        ds.sem_perm.gid.into(),
        ds.sem_perm.cuid.into(),
        ds.sem_perm.cgid.into(),
        (ds.sem_otime != 0) as u64,
    ]
}

fn msqid_digest(ds: &msqid_ds) -> Vec<u64> {
    vec![
        ds.msg_perm.__key as u32 as u64,
        ds.msg_perm.mode.into(),
        ds.msg_qnum,
        ds.msg_qbytes,
        ds.__msg_cbytes,
        ds.msg_perm.uid.into(),
        ds.msg_perm.gid.into(),
        ds.msg_perm.cuid.into(),
        ds.msg_perm.cgid.into(),
        ds.msg_lspid as u64,
        ds.msg_lrpid as u64,
    ]
}

/// Runs `ops` through `api` from an empty namespace.
fn run(api: &Api, fixture: &Fixture, ops: &[Op]) -> Result<Run, TestCaseError> {
    fresh_namespace();
    // The ids each run made, sets and queues apart, so that `IdArg::Made`
    // means the same object in every run.
    let mut sets: Vec<c_int> = Vec::new();
    let mut queues: Vec<c_int> = Vec::new();
    let mut outcomes = Vec::new();
    let id_index = |ids: &mut Vec<c_int>, id: c_int| match ids.iter().position(|&known| known == id)
    {
        Some(i) => i,
        None => {
            ids.push(id);
            ids.len() - 1
        }
    };
    for op in ops {
        if api.skip_strict && is_strict(op) {
            outcomes.push(Outcome::Skipped);
            continue;
        }
        let id_of = |ids: &Vec<c_int>, arg: IdArg| match arg {
            IdArg::Made(i) if !ids.is_empty() => ids[i % ids.len()],
            IdArg::Made(i) => i as c_int,
            IdArg::Raw(id) => id,
        };
        // Large enough for any structure, any message (MSGMAX and its type) and
        // the values of the largest set (SEMMSL 32000 of them, for GETALL and SETALL).
        let mut buf = vec![0u64; 65536 / 8 + 16];
        let good = buf.as_mut_ptr() as *mut c_void;
        // SAFETY (for the calls below): every pointer is NULL, a buffer of ours
        // large enough for what the call may read or write, or one the kernel
        // reports as bad (unmapped or PROT_NONE); no call can wait.
        let outcome = unsafe {
            match op {
                &Op::Semget(key, nsems, flags) => {
                    let key = match key {
                        KeyArg::Private => libc::IPC_PRIVATE,
                        KeyArg::Slot(i) => KEYS[i],
                        KeyArg::Raw(key) => key,
                    };
                    match (api.semget)(key, nsems, flags) {
                        -1 => Outcome::Failed(errno()),
                        id => Outcome::Id(id_index(&mut sets, id)),
                    }
                }
                Op::Semop(id, sops, nsops, which, timeout) => {
                    let nowait = !matches!(
                        timeout,
                        Timeout::Zero | Timeout::Bad(..) | Timeout::Unmapped
                    );
                    let mut ops: Vec<sembuf> = sops
                        .iter()
                        .map(|&(num, op, flg)| sembuf {
                            sem_num: num,
                            sem_op: op,
                            sem_flg: if nowait {
                                flg | libc::IPC_NOWAIT as i16
                            } else {
                                flg
                            },
                        })
                        .collect();
                    // A timeout that cannot be read, or one that is bad, must not
                    // let the call wait either: its operations get IPC_NOWAIT too.
                    if matches!(timeout, Timeout::Unmapped | Timeout::Bad(..)) {
                        ops.iter_mut()
                            .for_each(|op| op.sem_flg |= libc::IPC_NOWAIT as i16);
                    }
                    let nsops = nsops.unwrap_or(ops.len());
                    let sops_ptr = fixture.pointer(*which, ops.as_mut_ptr().cast()) as *mut sembuf;
                    let zero = timespec {
                        tv_sec: 0,
                        tv_nsec: 0,
                    };
                    let bad;
                    let t: *const timespec = match *timeout {
                        Timeout::Untimed | Timeout::Null => std::ptr::null(),
                        Timeout::Zero => &zero,
                        Timeout::Bad(s, n) => {
                            bad = timespec {
                                tv_sec: s,
                                tv_nsec: n,
                            };
                            &bad
                        }
                        Timeout::Unmapped => 16 as *const timespec,
                    };
                    let ret = match timeout {
                        Timeout::Untimed => (api.semop)(id_of(&sets, *id), sops_ptr, nsops),
                        _ => (api.semtimedop)(id_of(&sets, *id), sops_ptr, nsops, t),
                    };
                    match ret {
                        -1 => Outcome::Failed(errno()),
                        ret => Outcome::Value(ret.into()),
                    }
                }
                Op::Semctl(id, semnum, cmd, which, val, all, mode, uid) => {
                    let (cmd, semnum) = (*cmd, *semnum);
                    let words = buf.as_mut_ptr();
                    if cmd == libc::SETALL {
                        let values = words as *mut u16;
                        for (i, &v) in all.iter().enumerate() {
                            *values.add(i) = v;
                        }
                    }
                    if cmd == libc::IPC_SET {
                        let ds = words as *mut libc::semid_ds;
                        (*ds).sem_perm.uid = *uid;
                        (*ds).sem_perm.gid = *uid;
                        (*ds).sem_perm.mode = *mode as u16;
                    }
                    let arg = if cmd == libc::SETVAL {
                        *val as u32 as usize
                    } else {
                        fixture.pointer(*which, good) as usize
                    };
                    let target = if cmd == SEM_STAT || cmd == SEM_STAT_ANY {
                        match id {
                            IdArg::Made(i) => *i as c_int,
                            IdArg::Raw(raw) => *raw,
                        }
                    } else {
                        id_of(&sets, *id)
                    };
                    match (api.semctl)(target, semnum, cmd, arg) {
                        -1 => Outcome::Failed(errno()),
                        ret => {
                            let ret = if cmd == SEM_STAT || cmd == SEM_STAT_ANY {
                                id_index(&mut sets, ret) as i64
                            } else {
                                ret.into()
                            };
                            let digest = match cmd {
                                libc::IPC_STAT | SEM_STAT | SEM_STAT_ANY => {
                                    semid_digest(&*(words as *const libc::semid_ds))
                                }
                                libc::GETALL => (0..8)
                                    .map(|i| u64::from(*(words as *const u16).add(i)))
                                    .collect(),
                                libc::IPC_INFO | SEM_INFO => buf[..5].to_vec(),
                                _ => vec![],
                            };
                            Outcome::Buffer(ret, digest)
                        }
                    }
                }
                &Op::Msgget(key, flags) => {
                    let key = match key {
                        KeyArg::Private => libc::IPC_PRIVATE,
                        KeyArg::Slot(i) => KEYS[i],
                        KeyArg::Raw(key) => key,
                    };
                    match (api.msgget)(key, flags) {
                        -1 => Outcome::Failed(errno()),
                        id => Outcome::Id(id_index(&mut queues, id)),
                    }
                }
                &Op::Msgsnd(id, mtype, len, which, flags) => {
                    let bytes =
                        std::slice::from_raw_parts_mut(buf.as_mut_ptr() as *mut u8, buf.len() * 8);
                    fill(bytes, mtype, len);
                    match (api.msgsnd)(id_of(&queues, id), fixture.pointer(which, good), len, flags)
                    {
                        -1 => Outcome::Failed(errno()),
                        ret => Outcome::Value(ret.into()),
                    }
                }
                &Op::Msgrcv(id, len, mtype, which, flags) => {
                    match (api.msgrcv)(
                        id_of(&queues, id),
                        fixture.pointer(which, good),
                        len,
                        mtype,
                        flags,
                    ) {
                        -1 => Outcome::Failed(errno()),
                        got => {
                            let bytes = std::slice::from_raw_parts(
                                buf.as_ptr() as *const u8,
                                buf.len() * 8,
                            );
                            let text = &bytes[8..8 + (got as usize).min(MSGMAX)];
                            Outcome::Buffer(got as i64, vec![buf[0], checksum(text)])
                        }
                    }
                }
                &Op::Msgctl(id, cmd, which, mode, uid, qbytes) => {
                    if cmd == libc::IPC_SET {
                        let ds = buf.as_mut_ptr() as *mut msqid_ds;
                        (*ds).msg_perm.uid = uid;
                        (*ds).msg_perm.gid = uid;
                        (*ds).msg_perm.mode = mode as u16;
                        (*ds).msg_qbytes = qbytes;
                    }
                    let target = if cmd == MSG_STAT || cmd == MSG_STAT_ANY {
                        match id {
                            IdArg::Made(i) => i as c_int,
                            IdArg::Raw(raw) => raw,
                        }
                    } else {
                        id_of(&queues, id)
                    };
                    match (api.msgctl)(target, cmd, fixture.pointer(which, good) as *mut msqid_ds) {
                        -1 => Outcome::Failed(errno()),
                        ret => {
                            let ret = if cmd == MSG_STAT || cmd == MSG_STAT_ANY {
                                id_index(&mut queues, ret) as i64
                            } else {
                                ret.into()
                            };
                            let digest = match cmd {
                                libc::IPC_STAT | MSG_STAT | MSG_STAT_ANY => {
                                    msqid_digest(&*(good as *const msqid_ds))
                                }
                                libc::IPC_INFO | MSG_INFO => buf[..4].to_vec(),
                                _ => vec![],
                            };
                            Outcome::Buffer(ret, digest)
                        }
                    }
                }
                Op::BecomeUser => {
                    set_ids(own_user());
                    Outcome::Value(0)
                }
                Op::BecomeRoot => {
                    set_ids(0);
                    Outcome::Value(0)
                }
            }
        };
        if let (Outcome::Failed(err), Some(last_error)) = (&outcome, api.last_error) {
            // SAFETY: rshm_last_error returns a valid C string.
            let message = unsafe { std::ffi::CStr::from_ptr(last_error()) }
                .to_string_lossy()
                .into_owned();
            let tail = format!("({})", rshm::Errno::new(*err));
            prop_assert!(
                message.starts_with(call_name(op)) && message.ends_with(&tail),
                "{}: {op:?} failed with {tail} but the message is {message:?}",
                api.name
            );
            prop_assert!(
                !message.contains("the kernel refused"),
                "{}: {op:?}: an unexplained failure: {message:?}",
                api.name
            );
        }
        if api.name == "rshm_" {
            STATS.with(|stats| stats.borrow_mut().count(op, &outcome));
        }
        if api.name == "rshm_" && is_strict(op) {
            prop_assert_eq!(
                &outcome,
                &Outcome::Failed(libc::EINVAL),
                "strict case {:?} must be EINVAL",
                op
            );
            outcomes.push(Outcome::Skipped);
        } else {
            outcomes.push(outcome);
        }
    }
    set_ids(0);
    let (sets, queues) = snapshot_and_remove();
    Ok(Run {
        outcomes,
        sets,
        queues,
    })
}

/// The namespace's sets (with their values) and queues, which it then removes.
fn snapshot_and_remove() -> (Vec<Vec<u64>>, Vec<Vec<u64>>) {
    let mut info = [0u64; 8];
    let mut sets = Vec::new();
    // SAFETY: info is large enough for struct seminfo; ds for a semid_ds; values for GETALL.
    unsafe {
        let max = libc::semctl(0, 0, SEM_INFO, info.as_mut_ptr());
        for index in 0..=max {
            let mut ds: libc::semid_ds = std::mem::zeroed();
            let id = libc::semctl(index, 0, SEM_STAT_ANY, &mut ds as *mut libc::semid_ds);
            if id >= 0 {
                let mut values = vec![0u16; ds.sem_nsems as usize];
                libc::semctl(id, 0, libc::GETALL, values.as_mut_ptr());
                let mut digest = semid_digest(&ds);
                digest.extend(values.iter().map(|&v| u64::from(v)));
                sets.push(digest);
                libc::semctl(id, 0, libc::IPC_RMID);
            }
        }
    }
    let mut queues = Vec::new();
    // SAFETY: info is large enough for struct msginfo; ds for a msqid_ds.
    unsafe {
        let max = libc::msgctl(0, MSG_INFO, info.as_mut_ptr().cast());
        for index in 0..=max {
            let mut ds: msqid_ds = std::mem::zeroed();
            let id = libc::msgctl(index, MSG_STAT_ANY, &mut ds);
            if id >= 0 {
                queues.push(msqid_digest(&ds));
                libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut());
            }
        }
    }
    (sets, queues)
}

/// How often each call succeeded and failed (by errno) in the rshm_ runs:
/// proof that the sequences reach the interesting paths.
#[derive(Default)]
struct Stats {
    calls: std::collections::BTreeMap<(&'static str, String), u64>,
}

impl Stats {
    fn count(&mut self, op: &Op, outcome: &Outcome) {
        let name = call_name(op).trim_end_matches('(');
        if name.is_empty() {
            return;
        }
        let result = match outcome {
            Outcome::Failed(err) => rshm::Errno::new(*err).to_string(),
            _ => "ok".into(),
        };
        *self.calls.entry((name, result)).or_default() += 1;
    }
}

thread_local! {
    static STATS: std::cell::RefCell<Stats> = std::cell::RefCell::new(Stats::default());
}

const CALLS: [&str; 8] = [
    "semget",
    "semop",
    "semtimedop",
    "semctl",
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
];

#[test]
fn rshm_and_the_preload_give_glibcs_results_for_random_semaphore_and_queue_calls() {
    let cases = std::env::var("RSHM_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let preload = preload_api();
    if preload.is_none() {
        eprintln!("RSHM_PRELOAD_LIB is not set: the preload leg is skipped (make test sets it)");
    }
    let rshm = rshm_api();
    let glibc_strict = Api {
        skip_strict: true,
        ..GLIBC
    };
    let fixture = Fixture::new();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&sequence(), |ops| {
        let reference = run(&glibc_strict, &fixture, &ops)?;
        let ours = run(&rshm, &fixture, &ops)?;
        prop_assert_eq!(&ours, &reference, "rshm_ differs from glibc");
        if let Some(preload) = &preload {
            let reference = run(&GLIBC, &fixture, &ops)?;
            let theirs = run(preload, &fixture, &ops)?;
            prop_assert_eq!(&theirs, &reference, "the preload differs from glibc");
        }
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
    let summary = STATS.with(|stats| {
        let stats = stats.borrow();
        CALLS
            .iter()
            .map(|name| {
                let results: Vec<String> = stats
                    .calls
                    .iter()
                    .filter(|((call, _), _)| call == name)
                    .map(|((_, result), n)| format!("{result} {n}"))
                    .collect();
                format!("  {name}: {}", results.join(", "))
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    eprintln!(
        "differential fuzzing of the semaphore and queue calls: {cases} sequences through glibc, rshm_{}: no difference\n{summary}",
        if preload.is_some() { " and the preload" } else { "" }
    );
}

// ---- Waiters, removals under waiters, signals and timeouts: a fixed set ----

/// The thread `tid` is asleep in one of the syscalls `numbers` (from /proc:
/// deterministic, no sleeps to guess).
fn wait_until_blocked(tid: i32, numbers: &[c_long]) {
    let path = format!("/proc/self/task/{tid}/syscall");
    let stat = format!("/proc/self/task/{tid}/stat");
    let start = Instant::now();
    loop {
        let syscall = std::fs::read_to_string(&path).unwrap_or_default();
        let state = std::fs::read_to_string(&stat).unwrap_or_default();
        let sleeping = state
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('S'));
        let number = syscall
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<c_long>().ok());
        if sleeping && number.is_some_and(|n| numbers.contains(&n)) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "thread {tid} never blocked in {numbers:?}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

static SIGNALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: c_int) {
    SIGNALLED.store(true, Ordering::SeqCst);
}

/// How a scenario ends the wait.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ending {
    Remove,
    Signal,
    Satisfy,
    Timeout,
}

/// One waiter through `api`, ended by `ending`: what the waiting call returned, with errno.
fn scenario(api: Api, what: &'static str, ending: Ending) -> (i64, i32) {
    fresh_namespace();
    // SAFETY: plain calls on objects of this namespace; the waiter's buffers are its own.
    unsafe {
        // glibc's semop is semtimedop with a NULL timeout, and so is rshm's.
        let sem_numbers: &[c_long] = &[libc::SYS_semop, libc::SYS_semtimedop];
        let (id, numbers) = match what {
            "semop" | "semtimedop" => (
                (api.semget)(libc::IPC_PRIVATE, 1, libc::IPC_CREAT | 0o600),
                sem_numbers,
            ),
            "msgrcv" => (
                (api.msgget)(libc::IPC_PRIVATE, libc::IPC_CREAT | 0o600),
                &[libc::SYS_msgrcv][..],
            ),
            _ => {
                let id = (api.msgget)(libc::IPC_PRIVATE, libc::IPC_CREAT | 0o600);
                // Fill the queue (16384 bytes) with two full messages.
                let mut message = vec![0u8; 8 + MSGMAX];
                fill(&mut message, 1, MSGMAX);
                for _ in 0..2 {
                    assert_eq!(
                        (api.msgsnd)(id, message.as_ptr().cast(), MSGMAX, libc::IPC_NOWAIT),
                        0
                    );
                }
                (id, &[libc::SYS_msgsnd][..])
            }
        };
        assert!(id >= 0);
        let action = libc::sigaction {
            sa_sigaction: on_signal as extern "C" fn(c_int) as usize,
            sa_mask: std::mem::zeroed(),
            sa_flags: 0, // no SA_RESTART (SysV waits are never restarted anyway)
            sa_restorer: None,
        };
        libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut());
        SIGNALLED.store(false, Ordering::SeqCst);
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            tx.send(libc::syscall(libc::SYS_gettid) as i32).unwrap();
            let mut message = vec![0u8; 8 + MSGMAX];
            let began = Instant::now();
            let ret: i64 = match what {
                "semop" => {
                    let mut op = sembuf {
                        sem_num: 0,
                        sem_op: -1,
                        sem_flg: 0,
                    };
                    (api.semop)(id, &mut op, 1).into()
                }
                "semtimedop" => {
                    let mut op = sembuf {
                        sem_num: 0,
                        sem_op: -1,
                        sem_flg: 0,
                    };
                    let limit = if ending == Ending::Timeout {
                        timespec {
                            tv_sec: 0,
                            tv_nsec: 50_000_000,
                        }
                    } else {
                        timespec {
                            tv_sec: 30,
                            tv_nsec: 0,
                        }
                    };
                    (api.semtimedop)(id, &mut op, 1, &limit).into()
                }
                "msgrcv" => (api.msgrcv)(id, message.as_mut_ptr().cast(), MSGMAX, 0, 0) as i64,
                _ => {
                    fill(&mut message, 2, 10);
                    (api.msgsnd)(id, message.as_ptr().cast(), 10, 0).into()
                }
            };
            (ret, errno(), message[8..18].to_vec(), began.elapsed())
        });
        let tid = rx.recv().unwrap();
        if ending != Ending::Timeout {
            wait_until_blocked(tid, numbers);
        }
        match ending {
            Ending::Remove => {
                let ret = if what.starts_with("sem") {
                    (api.semctl)(id, 0, libc::IPC_RMID, 0)
                } else {
                    (api.msgctl)(id, libc::IPC_RMID, std::ptr::null_mut())
                };
                assert_eq!(ret, 0);
            }
            Ending::Signal => {
                libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, libc::SIGUSR1);
            }
            Ending::Satisfy => match what {
                "semop" | "semtimedop" => {
                    let mut op = sembuf {
                        sem_num: 0,
                        sem_op: 1,
                        sem_flg: 0,
                    };
                    assert_eq!((api.semop)(id, &mut op, 1), 0);
                }
                "msgrcv" => {
                    let mut message = vec![0u8; 8 + 10];
                    fill(&mut message, 3, 10);
                    assert_eq!((api.msgsnd)(id, message.as_ptr().cast(), 10, 0), 0);
                }
                _ => {
                    let mut message = vec![0u8; 8 + MSGMAX];
                    assert_eq!(
                        (api.msgrcv)(id, message.as_mut_ptr().cast(), MSGMAX, 0, 0),
                        MSGMAX as isize
                    );
                }
            },
            Ending::Timeout => {}
        }
        // How long the waiting call took, timed by the waiter itself.
        let (ret, err, text, waited) = waiter.join().unwrap();
        if ending == Ending::Timeout {
            assert!(
                waited >= Duration::from_millis(50),
                "{}: the timeout ended early",
                api.name
            );
        }
        if ending == Ending::Signal {
            assert!(SIGNALLED.load(Ordering::SeqCst));
        }
        if ending == Ending::Satisfy && what == "msgrcv" {
            let mut want = vec![0u8; 18];
            fill(&mut want, 3, 10);
            assert_eq!(
                text,
                want[8..18].to_vec(),
                "{}: the message received",
                api.name
            );
        }
        if ending != Ending::Remove {
            if what.starts_with("sem") {
                (api.semctl)(id, 0, libc::IPC_RMID, 0);
            } else {
                (api.msgctl)(id, libc::IPC_RMID, std::ptr::null_mut());
            }
        }
        (ret, if ret == -1 { err } else { 0 })
    }
}

#[test]
fn waiters_removals_signals_and_timeouts_end_as_with_glibc() {
    let mut apis = vec![GLIBC, rshm_api()];
    apis.extend(preload_api());
    let mut cases = Vec::new();
    for what in ["semop", "semtimedop", "msgrcv", "msgsnd"] {
        for ending in [
            Ending::Remove,
            Ending::Signal,
            Ending::Satisfy,
            Ending::Timeout,
        ] {
            if ending == Ending::Timeout && what != "semtimedop" {
                continue;
            }
            cases.push((what, ending));
        }
    }
    let expected = |what: &str, ending: Ending| match ending {
        Ending::Remove => (-1, libc::EIDRM),
        Ending::Signal => (-1, libc::EINTR),
        Ending::Timeout => (-1, libc::EAGAIN),
        Ending::Satisfy if what == "msgrcv" => (10, 0),
        Ending::Satisfy => (0, 0),
    };
    // Each scenario runs on a thread of its own: the namespace is that thread's.
    for (what, ending) in cases {
        for &api in &apis {
            let got = std::thread::spawn(move || scenario(api, what, ending))
                .join()
                .unwrap();
            assert_eq!(
                got,
                expected(what, ending),
                "{}: {what} ended by {ending:?}",
                api.name
            );
        }
    }
}
