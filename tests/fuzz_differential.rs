//! Differential fuzzing: random sequences of calls, with random and adversarial
//! arguments, run from the same empty state (a fresh IPC namespace each time)
//! through glibc, through rshm's `rshm_` calls and through the preload
//! library's exports. Every result, errno, buffer and the final state must be
//! equal, except the documented strict cases, which `rshm_` must refuse with
//! EINVAL (the glibc run it is compared with skips them, so both stay in step).
//!
//! `RSHM_FUZZ_CASES` sets the number of sequences (default 20,000: `make test`);
//! `RSHM_PRELOAD_LIB` names librshm_preload.so (without it, that leg is skipped
//! and the test says so). Needs root for the namespaces; `make fuzz` runs more.

use libc::{c_char, c_int, c_void, key_t, shmid_ds};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::ffi::CString;

const NOBODY: u32 = 65534;

/// The user the runs become: not `nobody`, whom other programs on the machine
/// share, but a uid of this process's own (no account needs to exist). Memory
/// locked with `SHM_LOCK` is charged to the locking user machine-wide, so locks
/// made as `nobody` by another test run at the same time would make ours fail.
fn own_user() -> u32 {
    0x5253_0000 + std::process::id() % 0x1_0000
}
/// PROT_NONE address space reserved for fixed-address attaches: nothing else lives there.
const REGION: usize = 4 << 30;
/// shmmax inside each namespace, so no attach can reach beyond REGION.
const SHMMAX: usize = 1 << 30;
const KEYS: [key_t; 3] = [0x52534601, 0x52534602, 0x52534603];

#[derive(Debug, Clone, Copy, PartialEq)]
enum PathArg {
    File,
    Dir,
    Missing,
    Empty,
    Null,
    Unmapped,
    TooLong,
    NotDir,
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

/// Where shmat may map: never outside the reserved region when the address is fixed.
#[derive(Debug, Clone, Copy)]
enum AtAddr {
    Null,
    Region(usize),
    Kernel,
}

/// What shmdt is given: anything, since shmdt only ever removes shm mappings.
#[derive(Debug, Clone, Copy)]
enum DtAddr {
    Null,
    Attached(usize, usize),
    Region(usize),
    Stack,
    Raw(usize),
}

#[derive(Debug, Clone, Copy)]
enum BufArg {
    Good,
    Null,
    Unmapped,
    ProtNone,
}

#[derive(Debug, Clone)]
enum Op {
    Ftok(PathArg, c_int),
    Shmget(KeyArg, usize, c_int),
    Shmat(IdArg, AtAddr, c_int),
    Shmdt(DtAddr),
    Shmctl(IdArg, c_int, BufArg, u32, u32),
    /// Become [`own_user`] (a user without privileges).
    BecomeUser,
    BecomeRoot,
}

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        12 => prop::sample::select(vec![1usize, 100, 4095, 4096, 4097, 8192, 65536, 1 << 20]),
        6 => 1usize..100_000,
        1 => Just(0usize),
        1 => prop::sample::select(vec![SHMMAX, SHMMAX + 1, usize::MAX, 1 << 62]),
        1 => any::<usize>(),
    ]
}

fn shmget_flags() -> impl Strategy<Value = c_int> {
    let named = prop::sample::subsequence(
        vec![
            libc::IPC_CREAT,
            libc::IPC_CREAT,
            libc::IPC_CREAT,
            libc::IPC_EXCL,
            libc::SHM_NORESERVE,
            libc::SHM_HUGETLB,
        ],
        0..3,
    )
    .prop_map(|flags| flags.into_iter().fold(0, |all, flag| all | flag));
    (
        named,
        0..=0o777i32,
        prop_oneof![16 => Just(0), 1 => any::<c_int>(), 1 => (0..64i32).prop_map(|s| s << 26)],
    )
        .prop_map(|(named, mode, extra)| named | mode | extra)
}

fn shmat_flags() -> impl Strategy<Value = c_int> {
    let named = prop_oneof![
        4 => Just(0),
        2 => Just(libc::SHM_RDONLY),
        2 => prop::sample::subsequence(vec![libc::SHM_RDONLY, libc::SHM_RND, 0o40000, 0o100000], 1..3)
            .prop_map(|flags| flags.into_iter().fold(0, |all, flag| all | flag)),
    ];
    (
        named,
        prop_oneof![16 => Just(0), 1 => Just(0o666), 1 => any::<c_int>()],
    )
        .prop_map(|(named, extra)| named | extra)
}

fn cmd() -> impl Strategy<Value = c_int> {
    prop_oneof![
        6 => prop::sample::select(vec![
            libc::IPC_STAT, libc::IPC_SET, libc::IPC_RMID, libc::IPC_INFO, 14, 13, 15, libc::SHM_LOCK, libc::SHM_UNLOCK,
        ]),
        1 => Just(libc::IPC_STAT | 0x100),
        1 => any::<c_int>(),
    ]
}

fn id() -> impl Strategy<Value = IdArg> {
    prop_oneof![
        12 => (0usize..6).prop_map(IdArg::Made),
        1 => prop::sample::select(vec![-1, 0, 1, 123456, c_int::MAX, c_int::MIN]).prop_map(IdArg::Raw),
        1 => any::<c_int>().prop_map(IdArg::Raw),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let path = prop::sample::select(vec![
        PathArg::File,
        PathArg::File,
        PathArg::Dir,
        PathArg::Missing,
        PathArg::Empty,
        PathArg::Null,
        PathArg::Unmapped,
        PathArg::TooLong,
        PathArg::NotDir,
    ]);
    let proj = prop_oneof![1..=255i32, Just(0), Just(256), Just(0x141), any::<c_int>()];
    let key = prop_oneof![
        2 => Just(KeyArg::Private),
        4 => (0usize..KEYS.len()).prop_map(KeyArg::Slot),
        1 => any::<key_t>().prop_map(KeyArg::Raw),
    ];
    let region = prop_oneof![
        (0usize..512).prop_map(|page| page * 4096),
        (0usize..(2 << 20)),
        Just(REGION / 2),
    ];
    let at = prop_oneof![8 => Just(AtAddr::Null), 3 => region.clone().prop_map(AtAddr::Region), 1 => Just(AtAddr::Kernel)];
    let dt = prop_oneof![
        8 => (0usize..6, prop_oneof![3 => Just(0usize), 1 => 0usize..8192]).prop_map(|(i, off)| DtAddr::Attached(i, off)),
        1 => Just(DtAddr::Null),
        1 => region.prop_map(DtAddr::Region),
        1 => Just(DtAddr::Stack),
        1 => any::<usize>().prop_map(DtAddr::Raw),
    ];
    let buf = prop::sample::select(vec![
        BufArg::Good,
        BufArg::Good,
        BufArg::Good,
        BufArg::Null,
        BufArg::Unmapped,
        BufArg::ProtNone,
    ]);
    let uid = prop::sample::select(vec![0u32, NOBODY, 12345]);
    prop_oneof![
        2 => (path, proj).prop_map(|(p, j)| Op::Ftok(p, j)),
        6 => (key, size(), shmget_flags()).prop_map(|(k, s, f)| Op::Shmget(k, s, f)),
        6 => (id(), at, shmat_flags()).prop_map(|(i, a, f)| Op::Shmat(i, a, f)),
        3 => dt.prop_map(Op::Shmdt),
        5 => (id(), cmd(), buf, 0u32..0o10000, uid).prop_map(|(i, c, b, m, u)| Op::Shmctl(i, c, b, m, u)),
        1 => Just(Op::BecomeUser),
        1 => Just(Op::BecomeRoot),
    ]
}

/// One way of making the five calls.
#[derive(Clone, Copy)]
struct Api {
    name: &'static str,
    ftok: unsafe extern "C" fn(*const c_char, c_int) -> key_t,
    shmget: unsafe extern "C" fn(key_t, usize, c_int) -> c_int,
    shmat: unsafe extern "C" fn(c_int, *const c_void, c_int) -> *mut c_void,
    shmdt: unsafe extern "C" fn(*const c_void) -> c_int,
    shmctl: unsafe extern "C" fn(c_int, c_int, *mut shmid_ds) -> c_int,
    /// Its rshm_last_error, to check that every failure is explained.
    last_error: Option<unsafe extern "C" fn() -> *const c_char>,
    /// Refuse the strict cases with EINVAL instead of calling (the reference for `rshm_`).
    skip_strict: bool,
}

const GLIBC: Api = Api {
    name: "glibc",
    ftok: libc::ftok,
    shmget: libc::shmget,
    shmat: libc::shmat,
    shmdt: libc::shmdt,
    shmctl: libc::shmctl,
    last_error: None,
    skip_strict: false,
};

fn rshm_api() -> Api {
    use rshm_capi::libc::*;
    Api {
        name: "rshm_",
        ftok: rshm_ftok,
        shmget: rshm_shmget,
        shmat: rshm_shmat,
        shmdt: rshm_shmdt,
        shmctl: rshm_shmctl,
        last_error: Some(rshm_capi::last_error::rshm_last_error),
        skip_strict: false,
    }
}

/// The preload library's own exports, taken from it with dlsym (not interposed).
fn preload_api() -> Option<Api> {
    let path = CString::new(std::env::var("RSHM_PRELOAD_LIB").ok()?).ok()?;
    // SAFETY: dlopen/dlsym with valid strings; the symbols have the signatures named.
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
            ftok: std::mem::transmute::<
                *mut c_void,
                unsafe extern "C" fn(*const c_char, c_int) -> key_t,
            >(sym(c"ftok")),
            shmget: std::mem::transmute::<
                *mut c_void,
                unsafe extern "C" fn(key_t, usize, c_int) -> c_int,
            >(sym(c"shmget")),
            shmat: std::mem::transmute::<
                *mut c_void,
                unsafe extern "C" fn(c_int, *const c_void, c_int) -> *mut c_void,
            >(sym(c"shmat")),
            shmdt: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(*const c_void) -> c_int>(
                sym(c"shmdt"),
            ),
            shmctl: std::mem::transmute::<
                *mut c_void,
                unsafe extern "C" fn(c_int, c_int, *mut shmid_ds) -> c_int,
            >(sym(c"shmctl")),
            // The preload exports the five calls alone; its messages are rshm_'s (one implementation).
            last_error: None,
            skip_strict: false,
        })
    }
}

/// What one call did, with ids and addresses made comparable across runs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Failed(i32),
    Value(i64),
    Id(usize),
    Mapped(Option<usize>),
    Buffer(i64, Vec<u64>),
    Skipped,
}

/// Everything a run saw: the outcomes, then the namespace's segments at the end.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    outcomes: Vec<Outcome>,
    segments: Vec<(i32, usize, u16, u64, u32)>,
}

struct Fixture {
    region: usize,
    file: CString,
    too_long: CString,
    stack_word: u64,
}

fn errno() -> i32 {
    // SAFETY: always valid.
    unsafe { *libc::__errno_location() }
}

fn set_ids(uid: u32, gid: u32, saved: u32) {
    // Raw syscalls change this thread alone (glibc's wrappers would change every thread).
    // SAFETY: plain syscalls.
    unsafe {
        if uid == 0 {
            libc::syscall(libc::SYS_setresuid, uid, uid, saved);
            libc::syscall(libc::SYS_setresgid, gid, gid, saved);
        } else {
            libc::syscall(libc::SYS_setresgid, gid, gid, saved);
            libc::syscall(libc::SYS_setresuid, uid, uid, saved);
        }
    }
}

impl Fixture {
    fn new() -> Fixture {
        // SAFETY: an anonymous PROT_NONE reservation; nothing else is ever mapped there.
        let region = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                REGION,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        assert_ne!(region, libc::MAP_FAILED);
        let file = std::env::temp_dir().join(format!("rshm-fuzz-{}", std::process::id()));
        std::fs::write(&file, b"").unwrap();
        Fixture {
            region: region as usize,
            file: CString::new(file.into_os_string().into_encoded_bytes()).unwrap(),
            too_long: CString::new("a".repeat(5000)).unwrap(),
            stack_word: 0,
        }
    }

    /// A fresh IPC namespace for this thread, with shmmax lowered, and the region reset.
    fn fresh_state(&self) {
        // SAFETY: unshare affects only this thread's namespaces.
        assert_eq!(
            unsafe { libc::unshare(libc::CLONE_NEWIPC) },
            0,
            "unshare: the fuzzer needs root"
        );
        std::fs::write("/proc/sys/kernel/shmmax", SHMMAX.to_string()).unwrap();
        // SAFETY: replaces the reserved region (ours alone) with PROT_NONE again.
        let again = unsafe {
            libc::mmap(
                self.region as *mut c_void,
                REGION,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        assert_eq!(again as usize, self.region);
    }

    fn path(&self, path: PathArg) -> *const c_char {
        match path {
            PathArg::File => self.file.as_ptr(),
            PathArg::Dir => c"/tmp".as_ptr(),
            PathArg::Missing => c"/no/such/rshm/fuzz".as_ptr(),
            PathArg::Empty => c"".as_ptr(),
            PathArg::Null => std::ptr::null(),
            PathArg::Unmapped => 16 as *const c_char,
            PathArg::TooLong => self.too_long.as_ptr(),
            PathArg::NotDir => c"/etc/passwd/x".as_ptr(),
        }
    }
}

/// Whether rshm's strict validation refuses this call (see the README's table).
fn is_strict(op: &Op) -> bool {
    let get_defined = 0o777
        | libc::IPC_CREAT
        | libc::IPC_EXCL
        | libc::SHM_HUGETLB
        | libc::SHM_NORESERVE
        | (0x3f << 26);
    match *op {
        Op::Ftok(path, proj) => path != PathArg::Null && proj & 0xff == 0,
        Op::Shmget(_, _, flags) => {
            flags & !get_defined != 0
                || (flags & (0x3f << 26) != 0 && flags & libc::SHM_HUGETLB == 0)
        }
        Op::Shmat(_, _, flags) => {
            flags & !(libc::SHM_RDONLY | libc::SHM_RND | 0o40000 | 0o100000) != 0
        }
        _ => false,
    }
}

fn call_name(op: &Op) -> &'static str {
    match op {
        Op::Ftok(..) => "ftok(",
        Op::Shmget(..) => "shmget(",
        Op::Shmat(..) => "shmat(",
        Op::Shmdt(..) => "shmdt(",
        Op::Shmctl(..) => "shmctl(",
        _ => "",
    }
}

/// Runs `ops` through `api` from an empty namespace.
fn run(api: &Api, fixture: &Fixture, ops: &[Op]) -> Result<Run, TestCaseError> {
    fixture.fresh_state();
    let mut ids: Vec<c_int> = Vec::new();
    let mut attached: Vec<usize> = Vec::new();
    let mut outcomes = Vec::new();
    let mut buf: [u64; 32];
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
        // SAFETY (for the calls below): every pointer is NULL, a fixture string,
        // a buffer of ours, an address in our reserved region or one the kernel
        // reports as bad; fixed-address attaches stay inside the region (shmmax).
        let outcome = unsafe {
            match *op {
                Op::Ftok(path, proj) => {
                    let key = (api.ftok)(fixture.path(path), proj);
                    if key == -1 && errno() != 0 {
                        Outcome::Failed(errno())
                    } else {
                        Outcome::Value(key.into())
                    }
                }
                Op::Shmget(key, size, flags) => {
                    let key = match key {
                        KeyArg::Private => libc::IPC_PRIVATE,
                        KeyArg::Slot(i) => KEYS[i],
                        KeyArg::Raw(key) => key,
                    };
                    match (api.shmget)(key, size, flags) {
                        -1 => Outcome::Failed(errno()),
                        id => Outcome::Id(id_index(&mut ids, id)),
                    }
                }
                Op::Shmat(id, addr, flags) => {
                    let addr = match addr {
                        AtAddr::Null => 0,
                        AtAddr::Region(offset) => fixture.region + offset,
                        AtAddr::Kernel => 0xffff_8000_0000_0000,
                    };
                    let mapped = (api.shmat)(id_of(&ids, id), addr as *const c_void, flags);
                    if mapped as isize == -1 {
                        Outcome::Failed(errno())
                    } else {
                        attached.push(mapped as usize);
                        let offset = (mapped as usize)
                            .checked_sub(fixture.region)
                            .filter(|&o| o < REGION);
                        Outcome::Mapped(offset)
                    }
                }
                Op::Shmdt(addr) => {
                    let addr = match addr {
                        DtAddr::Null => 0,
                        DtAddr::Attached(i, offset) if !attached.is_empty() => {
                            attached[i % attached.len()] + offset
                        }
                        DtAddr::Attached(..) => 0,
                        DtAddr::Region(offset) => fixture.region + offset,
                        DtAddr::Stack => &fixture.stack_word as *const u64 as usize,
                        DtAddr::Raw(addr) => addr,
                    };
                    match (api.shmdt)(addr as *const c_void) {
                        -1 => Outcome::Failed(errno()),
                        ret => Outcome::Value(ret.into()),
                    }
                }
                Op::Shmctl(id, cmd, which, mode, uid) => {
                    buf = [0; 32];
                    if cmd == libc::IPC_SET {
                        let ds = buf.as_mut_ptr() as *mut shmid_ds;
                        (*ds).shm_perm.uid = uid;
                        (*ds).shm_perm.gid = uid;
                        (*ds).shm_perm.mode = mode as u16;
                    }
                    let ptr = match which {
                        BufArg::Good => buf.as_mut_ptr() as *mut shmid_ds,
                        BufArg::Null => std::ptr::null_mut(),
                        BufArg::Unmapped => 16 as *mut shmid_ds,
                        BufArg::ProtNone => fixture.region as *mut shmid_ds,
                    };
                    match (api.shmctl)(id_of(&ids, id), cmd, ptr) {
                        -1 => Outcome::Failed(errno()),
                        ret => {
                            let ret = if cmd == 13 || cmd == 15 {
                                id_index(&mut ids, ret) as i64
                            } else {
                                ret.into()
                            };
                            let ds = &*(buf.as_ptr() as *const shmid_ds);
                            let digest = match cmd {
                                libc::IPC_STAT | 13 | 15 => vec![
                                    ds.shm_perm.__key as u32 as u64,
                                    ds.shm_segsz as u64,
                                    ds.shm_perm.mode.into(),
                                    ds.shm_nattch,
                                    ds.shm_perm.uid.into(),
                                    ds.shm_perm.gid.into(),
                                    ds.shm_perm.cuid.into(),
                                    ds.shm_perm.cgid.into(),
                                    ds.shm_cpid as u64,
                                    ds.shm_lpid as u64,
                                ],
                                libc::IPC_INFO => buf[..5].to_vec(),
                                14 => vec![buf[0] & 0xffff_ffff, buf[1]],
                                _ => vec![],
                            };
                            Outcome::Buffer(ret, digest)
                        }
                    }
                }
                Op::BecomeUser => {
                    set_ids(own_user(), own_user(), 0);
                    Outcome::Value(0)
                }
                Op::BecomeRoot => {
                    set_ids(0, 0, 0);
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
    set_ids(0, 0, 0);
    let segments = snapshot();
    release_segments();
    for &addr in &attached {
        // SAFETY: detaching what this run attached (a stale address is just EINVAL).
        unsafe { (api.shmdt)(addr as *const c_void) };
    }
    Ok(Run { outcomes, segments })
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

/// Unlocks and removes every segment of the namespace, as root, before the run
/// leaves it. The kernel tears an abandoned IPC namespace down later, on a
/// workqueue; until then its locked segments still count against the locking
/// user's RLIMIT_MEMLOCK, and the next run's `SHM_LOCK` would fail with ENOMEM
/// (`locked_memory_never_outlives_a_run`). `SHM_UNLOCK` returns the charge at
/// once, even for a segment that is still attached.
fn release_segments() {
    let mut info = [0u64; 8];
    // SAFETY: info is large enough for struct shm_info.
    let max = unsafe { libc::shmctl(0, 14, info.as_mut_ptr().cast()) };
    for index in 0..=max {
        // SAFETY: all-zero is a valid shmid_ds, which SHM_STAT_ANY fills.
        let mut ds: shmid_ds = unsafe { std::mem::zeroed() };
        // SAFETY: ds is a valid shmid_ds; the id is the one SHM_STAT_ANY returned.
        unsafe {
            let id = libc::shmctl(index, 15, &mut ds);
            if id >= 0 {
                libc::shmctl(id, libc::SHM_UNLOCK, std::ptr::null_mut());
                libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut());
            }
        }
    }
}

/// The namespace's segments: key, size, mode, attach count and owner.
fn snapshot() -> Vec<(i32, usize, u16, u64, u32)> {
    let mut info = [0u64; 8];
    // SAFETY: info is large enough for struct shm_info.
    let max = unsafe { libc::shmctl(0, 14, info.as_mut_ptr().cast()) };
    (0..=max)
        .filter_map(|index| {
            // SAFETY: all-zero is a valid shmid_ds, which SHM_STAT_ANY fills.
            let mut ds: shmid_ds = unsafe { std::mem::zeroed() };
            // SAFETY: ds is a valid shmid_ds.
            let found = unsafe { libc::shmctl(index, 15, &mut ds) } >= 0;
            found.then_some((
                ds.shm_perm.__key,
                ds.shm_segsz,
                ds.shm_perm.mode,
                ds.shm_nattch,
                ds.shm_perm.uid,
            ))
        })
        .collect()
}

#[test]
fn rshm_and_the_preload_give_glibcs_results_for_random_call_sequences() {
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
    let result = runner.run(&prop::collection::vec(op(), 1..14), |ops| {
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
    let _ = std::fs::remove_file(fixture.file.to_str().unwrap());
    if let Err(error) = result {
        panic!("{error}");
    }
    let summary = STATS.with(|stats| {
        let stats = stats.borrow();
        let mut by_call: Vec<String> = Vec::new();
        for name in ["ftok", "shmget", "shmat", "shmdt", "shmctl"] {
            let results: Vec<String> = stats
                .calls
                .iter()
                .filter(|((call, _), _)| *call == name)
                .map(|((_, result), n)| format!("{result} {n}"))
                .collect();
            by_call.push(format!("  {name}: {}", results.join(", ")));
        }
        by_call.join("\n")
    });
    eprintln!(
        "differential fuzzing: {cases} sequences through glibc, rshm_{}: no difference\n{summary}",
        if preload.is_some() {
            " and the preload"
        } else {
            ""
        }
    );
}

/// Memory that one run locks (`SHM_LOCK` as another user) is charged to that
/// user until the segment goes; a namespace left behind is torn down later, by
/// the kernel's workqueue, so each run must release its segments itself or the
/// next run's locks fail with ENOMEM where the previous run's succeeded.
#[test]
fn locked_memory_never_outlives_a_run() {
    let fixture = Fixture::new();
    let mut ops = vec![Op::BecomeUser];
    for _ in 0..6 {
        ops.push(Op::Shmget(
            KeyArg::Private,
            1 << 20,
            libc::IPC_CREAT | 0o600,
        ));
    }
    for i in 0..6 {
        ops.push(Op::Shmctl(
            IdArg::Made(i),
            libc::SHM_LOCK,
            BufArg::Good,
            0,
            0,
        ));
    }
    let first = run(&GLIBC, &fixture, &ops).unwrap();
    assert!(
        first.outcomes[7..]
            .iter()
            .all(|o| *o == Outcome::Buffer(0, vec![])),
        "six 1 MiB locks fit in RLIMIT_MEMLOCK (8 MiB): {first:?}"
    );
    for round in 0..50 {
        let again = run(&GLIBC, &fixture, &ops).unwrap();
        assert_eq!(again, first, "round {round} differs from the first run");
    }
    let _ = std::fs::remove_file(fixture.file.to_str().unwrap());
}
