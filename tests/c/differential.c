/* Differential test: every case runs twice from the same state, once through
 * glibc and once through rshm. Result, errno and the IPC state afterwards must
 * be equal, except for the documented strict cases, where rshm must fail with
 * EINVAL and change nothing. Every rshm failure must leave a message naming
 * its call and errno.
 *
 * Built normally, it tests the rshm_* calls. Built with -DRSHM_DIFF_PRELOAD and
 * run under LD_PRELOAD=librshm_preload.so, it tests the plain names the preload
 * takes over, against glibc's own (found with dlvsym); strict cases then apply
 * only with RSHM_STRICT=1. The preload exports the five names alone (no
 * rshm_last_error), so its messages are checked through its trace instead
 * (tests/run/preload.sh). */
#include "harness.h"

#include <dlfcn.h>

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef RSHM_DIFF_PRELOAD
#include "rshm.h"
#endif

#define NOBODY 65534
#define KEY 0x52534801

typedef struct {
    const char *name;
    key_t (*ftok)(const char *, int);
    int (*shmget)(key_t, size_t, int);
    void *(*shmat)(int, const void *, int);
    int (*shmdt)(const void *);
    int (*shmctl)(int, int, struct shmid_ds *);
} api_t;

/* REF is glibc; SUT the calls under test; last_error their rshm_last_error (NULL under the preload). */
static api_t REF, SUT;
static const char *(*last_error)(void);
static int strict; /* whether the strict list applies */

static void *glibc_symbol(const char *name) {
    void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    void *sym = libc ? dlvsym(libc, name, "GLIBC_2.2.5") : NULL;
    if (!sym) { fprintf(stderr, "glibc's %s not found\n", name); exit(2); }
    return sym;
}

static void choose_apis(void) {
    REF = (api_t){"glibc", (key_t(*)(const char *, int))glibc_symbol("ftok"),
                  (int (*)(key_t, size_t, int))glibc_symbol("shmget"),
                  (void *(*)(int, const void *, int))glibc_symbol("shmat"),
                  (int (*)(const void *))glibc_symbol("shmdt"),
                  (int (*)(int, int, struct shmid_ds *))glibc_symbol("shmctl")};
#ifdef RSHM_DIFF_PRELOAD
    SUT = (api_t){"preload", ftok, shmget, shmat, shmdt, shmctl};
    last_error = NULL;
    const char *mode = getenv("RSHM_STRICT");
    strict = mode && strcmp(mode, "1") == 0;
    if ((void *)SUT.shmget == (void *)REF.shmget) {
        fprintf(stderr, "run me with LD_PRELOAD=librshm_preload.so\n");
        exit(2);
    }
#else
    SUT = (api_t){"rshm", rshm_ftok, rshm_shmget, rshm_shmat, rshm_shmdt, rshm_shmctl};
    last_error = rshm_last_error;
    strict = 1;
#endif
}

/* Calls that do nothing: a run through them shows the state the setup alone leaves. */
static key_t noop_ftok(const char *p, int i) { (void)p; (void)i; errno = EINVAL; return -1; }
static int noop_shmget(key_t k, size_t s, int f) { (void)k; (void)s; (void)f; errno = EINVAL; return -1; }
static void *noop_shmat(int i, const void *a, int f) { (void)i; (void)a; (void)f; errno = EINVAL; return (void *)-1; }
static int noop_shmdt(const void *a) { (void)a; errno = EINVAL; return -1; }
static int noop_shmctl(int i, int c, struct shmid_ds *b) { (void)i; (void)c; (void)b; errno = EINVAL; return -1; }
static api_t NOOP = {"setup only", noop_ftok, noop_shmget, noop_shmat, noop_shmdt, noop_shmctl};

/* What one run of a case observed. */
typedef struct {
    long ret;       /* normalized: ids become 0, addresses 1 */
    int failed;
    int err;
    char msg[1024]; /* rshm_last_error() after a failed rshm call */
    char state[2048];
} outcome_t;

static const api_t *api;  /* the API of the run in progress */
static outcome_t *out;    /* where the run in progress records */
static void *attached[16];
static int nattached;
static char tmpfile_path[] = "/tmp/rshm-differential-XXXXXX";

/* Record the outcome of the call just made; `failed` says whether it failed. */
static void record(long ret, int failed) {
    out->ret = ret;
    out->failed = failed;
    out->err = failed ? errno : 0;
    out->msg[0] = '\0';
    if (failed && api == &SUT && last_error) snprintf(out->msg, sizeof out->msg, "%s", last_error());
}

static void record_int(int ret) { record(ret, ret == -1); }
static void record_id(int ret) { record(ret >= 0 ? 0 : -1, ret == -1); }
static void record_addr(void *ret) {
    int failed = ret == (void *)-1;
    if (!failed && nattached < 16) attached[nattached++] = ret;
    record(failed ? -1 : 1, failed);
}

/* Setup helpers always use glibc, so both runs start from the same state. */
static int make_segment(key_t key, size_t size, int mode) {
    int id = REF.shmget(key, size, IPC_CREAT | IPC_EXCL | mode);
    if (id < 0) { perror("setup shmget"); exit(2); }
    return id;
}

static void *attach_setup(int id, int flags) {
    void *addr = REF.shmat(id, NULL, flags);
    if (addr == (void *)-1) { perror("setup shmat"); exit(2); }
    attached[nattached++] = addr;
    return addr;
}

/* The namespace's segments: key, size, mode and attach count of each. */
static void snapshot(char *buf, size_t cap) {
    struct shm_info info;
    int max = REF.shmctl(0, SHM_INFO, (struct shmid_ds *)&info);
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i <= max; i++) {
        struct shmid_ds ds;
        memset(&ds, 0, sizeof ds); /* valgrind does not know SHM_STAT_ANY fills it */
        if (REF.shmctl(i, SHM_STAT_ANY, &ds) < 0) continue;
        len += snprintf(buf + len, cap - len, "[key=%#x size=%zu mode=%o nattch=%lu uid=%u] ",
                        (unsigned)ds.shm_perm.__key, ds.shm_segsz, ds.shm_perm.mode,
                        (unsigned long)ds.shm_nattch, ds.shm_perm.uid);
        if (len >= cap) break;
    }
}

static void clean_namespace(void) {
    for (int i = 0; i < nattached; i++) REF.shmdt(attached[i]);
    nattached = 0;
    struct shm_info info;
    int max = REF.shmctl(0, SHM_INFO, (struct shmid_ds *)&info);
    for (int i = 0; i <= max; i++) {
        struct shmid_ds ds;
        memset(&ds, 0, sizeof ds); /* valgrind does not know SHM_STAT_ANY fills it */
        int id = REF.shmctl(i, SHM_STAT_ANY, &ds);
        if (id >= 0) REF.shmctl(id, IPC_RMID, NULL);
    }
}

/* Runs `op` in a forked child (as user nobody if `as_nobody`); the child's
 * outcome comes back by pipe and becomes this run's. */
static void in_child_as(int as_nobody, void (*op)(void *), void *arg) {
    int fds[2];
    if (pipe(fds) != 0) { perror("pipe"); exit(2); }
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        if (as_nobody && (setgid(NOBODY) != 0 || setuid(NOBODY) != 0)) { perror("setuid"); _exit(2); }
        op(arg);
        ssize_t n = write(fds[1], out, sizeof *out);
        _exit(n == (ssize_t)sizeof *out ? 0 : 2);
    }
    close(fds[1]);
    outcome_t child;
    ssize_t n = read(fds[0], &child, sizeof child);
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    if (n != (ssize_t)sizeof child) { fprintf(stderr, "child gave no outcome\n"); exit(2); }
    *out = child;
}

static void as_nobody(void (*op)(void *), void *arg) { in_child_as(1, op, arg); }
static void in_child(void (*op)(void *), void *arg) { in_child_as(0, op, arg); }

static const char *errname(int err) {
    switch (err) {
    case 0: return "0";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EINVAL: return "EINVAL";
    case ENOSPC: return "ENOSPC";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EIDRM: return "EIDRM";
    default: return "other";
    }
}

enum expect { SAME, STRICT };

/* Runs `body` through glibc and through rshm and compares what each saw. */
static void differ(const char *name, enum expect expect, const char *call, void (*body)(void)) {
    outcome_t results[3];
    const api_t *apis[3] = {&REF, &SUT, &NOOP};
    if (expect == STRICT && !strict) expect = SAME;
    for (int i = 0; i < (expect == STRICT ? 3 : 2); i++) {
        api = apis[i];
        out = &results[i];
        memset(out, 0, sizeof *out);
        body();
        snapshot(out->state, sizeof out->state);
        clean_namespace();
    }
    outcome_t *g = &results[0], *r = &results[1], *untouched = &results[2];
    if (expect == STRICT) {
        CHECK(r->failed && r->err == EINVAL, "%s: strict case: rshm gave %ld errno %s, want EINVAL", name, r->ret,
              errname(r->err));
        CHECK(strcmp(r->state, untouched->state) == 0, "%s: a refused call changed the state\n  before: %s\n  after:  %s",
              name, untouched->state, r->state);
    } else {
        CHECK(g->failed == r->failed && g->ret == r->ret && g->err == r->err,
              "%s: glibc %ld errno %s, rshm %ld errno %s (%s)", name, g->ret, errname(g->err), r->ret,
              errname(r->err), r->msg);
        CHECK(strcmp(g->state, r->state) == 0, "%s: state differs\n  glibc: %s\n  rshm:  %s", name, g->state,
              r->state);
    }
    if (r->failed && last_error) {
        char tail[32];
        snprintf(tail, sizeof tail, "(%s)", errname(r->err));
        size_t len = strlen(r->msg);
        CHECK(strncmp(r->msg, call, strlen(call)) == 0 && len > strlen(tail) &&
                  strcmp(r->msg + len - strlen(tail), tail) == 0,
              "%s: message should start with \"%s\" and end with \"%s\": \"%s\"", name, call, tail, r->msg);
    }
}

/* ---- ftok ---- */
static int proj;
static const char *path;
static void ftok_body(void) { key_t k = api->ftok(path, proj); record(k, k == -1); }
static void ftok_case(const char *name, enum expect e, const char *p, int pr) {
    path = p;
    proj = pr;
    differ(name, e, "ftok(", ftok_body);
}

static void test_ftok(void) {
    static char longpath[PATH_MAX + 100];
    memset(longpath, 'a', sizeof longpath - 1);
    int projs[] = {1, 65, 127, 128, 255, 256 + 65, -1, INT_MAX, INT_MIN + 7};
    for (size_t i = 0; i < sizeof projs / sizeof projs[0]; i++) ftok_case("ftok existing file", SAME, tmpfile_path, projs[i]);
    ftok_case("ftok directory", SAME, "/tmp", 65);
    ftok_case("ftok missing path", SAME, "/no/such/rshm/file", 65);
    ftok_case("ftok empty path", SAME, "", 65);
    ftok_case("ftok through a file", SAME, "/etc/passwd/x", 65);
    ftok_case("ftok path too long", SAME, longpath, 65);
    ftok_case("ftok NULL path", SAME, NULL, 65);
    ftok_case("ftok unmapped path", SAME, (const char *)16, 65);
    ftok_case("ftok proj_id 0", STRICT, tmpfile_path, 0);
    ftok_case("ftok proj_id 256", STRICT, tmpfile_path, 256);
}

/* ---- shmget ---- */
static key_t g_key;
static size_t g_size;
static int g_flags;
static void shmget_body(void) { record_id(api->shmget(g_key, g_size, g_flags)); }
static void shmget_case(const char *name, enum expect e, key_t key, size_t size, int flags) {
    g_key = key;
    g_size = size;
    g_flags = flags;
    differ(name, e, "shmget(", shmget_body);
}

static void existing_then_get(void) {
    make_segment(KEY, 4096, 0640);
    shmget_body();
}
static void existing_case(const char *name, size_t size, int flags) {
    g_key = KEY;
    g_size = size;
    g_flags = flags;
    differ(name, SAME, "shmget(", existing_then_get);
}

static void shmget_as_nobody_op(void *unused) {
    (void)unused;
    shmget_body();
}
static void foreign_get(void) {
    make_segment(KEY, 4096, 0600);
    as_nobody(shmget_as_nobody_op, NULL);
}

static void test_shmget(void) {
    size_t sizes[] = {1, 100, 4095, 4096, 4097, 1 << 20, 0, SIZE_MAX, (size_t)1 << 62, (size_t)LONG_MAX + 1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        shmget_case("shmget private", SAME, IPC_PRIVATE, sizes[i], IPC_CREAT | 0600);
        shmget_case("shmget new key", SAME, KEY, sizes[i], IPC_CREAT | 0666);
        shmget_case("shmget missing key", SAME, KEY, sizes[i], 0600);
    }
    shmget_case("shmget private without IPC_CREAT", SAME, IPC_PRIVATE, 4096, 0600);
    shmget_case("shmget mode 0", SAME, KEY, 4096, IPC_CREAT);
    shmget_case("shmget IPC_EXCL new", SAME, KEY, 4096, IPC_CREAT | IPC_EXCL | 0600);
    shmget_case("shmget SHM_NORESERVE", SAME, KEY, 4096, IPC_CREAT | SHM_NORESERVE | 0600);
    shmget_case("shmget SHM_HUGETLB", SAME, IPC_PRIVATE, 2 << 20, IPC_CREAT | SHM_HUGETLB | 0600);
    shmget_case("shmget SHM_HUGETLB 2MB", SAME, IPC_PRIVATE, 2 << 20, IPC_CREAT | SHM_HUGETLB | (21 << 26) | 0600);
    shmget_case("shmget undefined bit 020000", STRICT, KEY, 4096, IPC_CREAT | 020000 | 0600);
    shmget_case("shmget undefined bit 1<<25", STRICT, KEY, 4096, IPC_CREAT | (1 << 25) | 0600);
    shmget_case("shmget huge size without SHM_HUGETLB", STRICT, KEY, 4096, IPC_CREAT | (21 << 26) | 0600);
    shmget_case("shmget negative flags", STRICT, KEY, 4096, -1);

    existing_case("shmget existing, same size", 4096, 0600);
    existing_case("shmget existing, smaller size", 10, 0600);
    existing_case("shmget existing, size 0", 0, 0);
    existing_case("shmget existing, larger size", 8192, IPC_CREAT | 0600);
    existing_case("shmget existing, larger size, no create", 4097, 0);
    existing_case("shmget existing, IPC_EXCL", 4096, IPC_CREAT | IPC_EXCL | 0600);
    existing_case("shmget existing, more permission", 4096, 0666);

    int modes[] = {0, 0600, 0400, 0404, 0644, 0666, IPC_CREAT | 0600, IPC_CREAT | 0666};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        g_key = KEY;
        g_size = 4096;
        g_flags = modes[i];
        differ("shmget as another user", SAME, "shmget(", foreign_get);
    }
}

/* ---- shmat ---- */
static int a_id_kind; /* 0 live, 1 removed, 2 never existed, 3 negative, 4 removed but attached */
static const void *a_addr;
static int a_flags;
static int a_mode = 0600;
static int target_id(void) {
    switch (a_id_kind) {
    case 0: return make_segment(KEY, 8192, a_mode);
    case 1: { int id = make_segment(KEY, 8192, 0600); REF.shmctl(id, IPC_RMID, NULL); return id; }
    case 2: return 123456;
    case 3: return -5;
    default: { int id = make_segment(KEY, 8192, 0600); attach_setup(id, 0); REF.shmctl(id, IPC_RMID, NULL); return id; }
    }
}
static void shmat_body(void) {
    int id = target_id();
    record_addr(api->shmat(id, a_addr, a_flags));
}
static void shmat_case(const char *name, enum expect e, int kind, const void *addr, int flags) {
    a_id_kind = kind;
    a_addr = addr;
    a_flags = flags;
    differ(name, e, "shmat(", shmat_body);
}

static void shmat_as_nobody_op(void *id) { record_addr(api->shmat(*(int *)id, NULL, a_flags)); }
static void shmat_foreign(void) {
    int id = make_segment(KEY, 4096, a_mode);
    as_nobody(shmat_as_nobody_op, &id);
}

/* An address where nothing is mapped: reserved with mmap, then unmapped. */
static char *free_range(size_t size) {
    char *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(p, size);
    return p;
}

static char *anon_map;
static void shmat_over_mapping(void) {
    int id = make_segment(KEY, 8192, 0600);
    anon_map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *addr = api->shmat(id, anon_map, a_flags);
    record_addr(addr);
    if (addr == (void *)-1) munmap(anon_map, 8192);
}

static void test_shmat(void) {
    char *free_addr = free_range(1 << 20);
    shmat_case("shmat live", SAME, 0, NULL, 0);
    shmat_case("shmat read-only", SAME, 0, NULL, SHM_RDONLY);
    shmat_case("shmat exec", SAME, 0, NULL, SHM_EXEC);
    shmat_case("shmat SHM_RND without address", SAME, 0, NULL, SHM_RND);
    shmat_case("shmat removed id", SAME, 1, NULL, 0);
    shmat_case("shmat unknown id", SAME, 2, NULL, 0);
    shmat_case("shmat negative id", SAME, 3, NULL, 0);
    shmat_case("shmat removed but attached", SAME, 4, NULL, 0);
    shmat_case("shmat aligned free address", SAME, 0, free_addr, 0);
    shmat_case("shmat unaligned address", SAME, 0, free_addr + 100, 0);
    shmat_case("shmat unaligned address with SHM_RND", SAME, 0, free_addr + 100, SHM_RND);
    shmat_case("shmat SHM_REMAP without address", SAME, 0, NULL, SHM_REMAP);
    shmat_case("shmat SHM_REMAP small address rounds to 0", SAME, 0, (void *)100, SHM_REMAP | SHM_RND);
    shmat_case("shmat address in kernel space", SAME, 0, (void *)0xffff800000000000ul, 0);
    shmat_case("shmat permission bits as flags", STRICT, 0, NULL, 0666);
    shmat_case("shmat undefined bit", STRICT, 0, NULL, 1 << 20);
    a_id_kind = 0;
    a_flags = 0;
    differ("shmat over a mapping without SHM_REMAP", SAME, "shmat(", shmat_over_mapping);
    a_flags = SHM_REMAP;
    differ("shmat over a mapping with SHM_REMAP", SAME, "shmat(", shmat_over_mapping);
    int modes[] = {0600, 0644, 0666, 0604};
    int flags[] = {0, SHM_RDONLY};
    for (size_t m = 0; m < 4; m++)
        for (size_t f = 0; f < 2; f++) {
            a_mode = modes[m];
            a_flags = flags[f];
            differ("shmat as another user", SAME, "shmat(", shmat_foreign);
        }
    a_mode = 0600;
}

/* ---- shmdt ---- */
static int d_kind;
static void shmdt_body(void) {
    int id = make_segment(KEY, 3 * 4096, 0600);
    char *addr = REF.shmat(id, NULL, 0); /* attached by glibc */
    char *mine = api->shmat(id, NULL, 0);
    int stack_var;
    const void *target;
    switch (d_kind) {
    case 0: target = mine; break;
    case 1: target = NULL; break;
    case 2: target = mine + 4096; break;
    case 3: target = mine + 1; break;
    case 4: target = &stack_var; break;
    case 5: target = addr; break; /* attached behind rshm's back */
    default: api->shmdt(mine); target = mine; break; /* twice */
    }
    record_int(api->shmdt(target));
    if (target != mine) REF.shmdt(mine);
    if (target != addr) REF.shmdt(addr);
}
static void shmdt_case(const char *name, int kind) {
    d_kind = kind;
    differ(name, SAME, "shmdt(", shmdt_body);
}

static void *child_addr;
static void shmdt_child_op(void *unused) {
    (void)unused;
    record_int(api->shmdt(child_addr));
}
static void shmdt_in_child(void) {
    int id = make_segment(KEY, 4096, 0600);
    child_addr = api->shmat(id, NULL, 0);
    in_child(shmdt_child_op, NULL);
    REF.shmdt(child_addr);
}

static void test_shmdt(void) {
    shmdt_case("shmdt start address", 0);
    shmdt_case("shmdt NULL", 1);
    shmdt_case("shmdt page inside segment", 2);
    shmdt_case("shmdt byte inside segment", 3);
    shmdt_case("shmdt stack address", 4);
    shmdt_case("shmdt of a glibc attachment", 5);
    shmdt_case("shmdt twice", 6);
    differ("shmdt in a forked child", SAME, "shmdt(", shmdt_in_child);
}

/* ---- shmctl ---- */
static int c_cmd, c_id_kind, c_buf_kind;
static struct shmid_ds c_ds;
static union { struct shminfo limits; struct shm_info usage; } c_info;
static void *c_buf(void) {
    switch (c_buf_kind) {
    case 0: return &c_ds;
    case 1: return NULL;
    case 2: return (void *)16;
    default: return &c_info;
    }
}
static int c_target(void) {
    int id = make_segment(KEY, 4096, 0640);
    switch (c_id_kind) {
    case 0: return id;
    case 1: REF.shmctl(id, IPC_RMID, NULL); return id;
    case 2: return 123456;
    case 3: return -1;
    case 4: return id % 32768; /* its index, for SHM_STAT (the kernel hands out indexes cyclically) */
    default: return 77; /* an unused index */
    }
}
/* What a shmctl left in its buffer that must agree across both runs. */
static long buf_digest(int cmd) {
    switch (cmd) {
    case IPC_STAT: case SHM_STAT: case SHM_STAT_ANY:
        return (long)c_ds.shm_segsz * 100000 + c_ds.shm_perm.mode * 10 + (long)c_ds.shm_nattch;
    case IPC_INFO: return (long)(c_info.limits.shmmni + c_info.limits.shmmin);
    case SHM_INFO: return c_info.usage.used_ids;
    default: return 0;
    }
}
static void shmctl_body(void) {
    int id = c_target();
    memset(&c_ds, 0, sizeof c_ds);
    memset(&c_info, 0, sizeof c_info);
    if (c_cmd == IPC_SET) c_ds.shm_perm.mode = 0604;
    int ret = api->shmctl(id, c_cmd, c_buf());
    int failed = ret == -1;
    int saved = errno;
    /* ids and indexes differ between runs (the kernel allocates them cyclically) */
    long norm = failed ? -1 : ret > 0 ? 0 : ret;
    errno = saved;
    record(failed ? -1 : norm * 1000003 + (c_buf_kind == 0 || c_buf_kind == 3 ? buf_digest(c_cmd) : 0), failed);
}
static void shmctl_case(const char *name, int cmd, int id_kind, int buf_kind) {
    c_cmd = cmd;
    c_id_kind = id_kind;
    c_buf_kind = buf_kind;
    differ(name, SAME, "shmctl(", shmctl_body);
}

static void shmctl_as_nobody_op(void *id) {
    int ret = api->shmctl(*(int *)id, c_cmd, c_buf());
    record(ret == -1 ? -1 : 0, ret == -1);
}
static void shmctl_foreign(void) {
    int id = make_segment(KEY, 4096, 0600);
    memset(&c_ds, 0, sizeof c_ds);
    if (c_cmd == IPC_SET) c_ds.shm_perm.mode = 0666;
    as_nobody(shmctl_as_nobody_op, c_cmd == SHM_STAT || c_cmd == SHM_STAT_ANY ? &(int){0} : &id);
}

static void test_shmctl(void) {
    int cmds[] = {IPC_STAT, IPC_SET, IPC_RMID, IPC_INFO, SHM_INFO, SHM_STAT, SHM_STAT_ANY, SHM_LOCK, SHM_UNLOCK,
                  99, -1, IPC_STAT | 0x100, 16};
    for (size_t c = 0; c < sizeof cmds / sizeof cmds[0]; c++) {
        int info = cmds[c] == IPC_INFO || cmds[c] == SHM_INFO;
        for (int kind = 0; kind <= 5; kind++)
            for (int buf = 0; buf <= 2; buf++) {
                char name[96];
                snprintf(name, sizeof name, "shmctl cmd=%d id-kind=%d buf-kind=%d", cmds[c], kind, buf);
                shmctl_case(name, cmds[c], kind, info && buf == 0 ? 3 : buf);
            }
        char name[64];
        snprintf(name, sizeof name, "shmctl cmd=%d as another user", cmds[c]);
        c_cmd = cmds[c];
        c_buf_kind = info ? 3 : 0;
        differ(name, SAME, "shmctl(", shmctl_foreign);
    }
}

/* ---- limits lowered inside the private namespace ---- */
static void write_sysctl(const char *name, const char *value) {
    int fd = open(name, O_WRONLY);
    if (fd < 0 || write(fd, value, strlen(value)) < 0) { perror(name); exit(2); }
    close(fd);
}
static void second_segment(void) {
    make_segment(IPC_PRIVATE, 4096, 0600);
    record_id(api->shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600));
}
static void test_limits(void) {
    write_sysctl("/proc/sys/kernel/shmmni", "1");
    differ("shmget beyond shmmni", SAME, "shmget(", second_segment);
    write_sysctl("/proc/sys/kernel/shmmni", "4096");
    write_sysctl("/proc/sys/kernel/shmall", "2");
    differ("shmget beyond shmall", SAME, "shmget(", second_segment);
    write_sysctl("/proc/sys/kernel/shmall", "18446744073692774399");
    write_sysctl("/proc/sys/kernel/shmmax", "8192");
    shmget_case("shmget beyond shmmax", SAME, IPC_PRIVATE, 8193, IPC_CREAT | 0600);
    shmget_case("shmget at shmmax", SAME, IPC_PRIVATE, 8192, IPC_CREAT | 0600);
    write_sysctl("/proc/sys/kernel/shmmax", "18446744073692774399");
}

/* ---- messages that name the cause ---- */
static void test_messages(void) {
    CHECK(strcmp(last_error(), "") == 0, "no failure yet, so no message: \"%s\"", last_error());

    int id = SUT.shmget(0x41012345, 4096, IPC_CREAT | 0600);
    CHECK(id >= 0, "%s", last_error());
    CHECK(SUT.shmget(0x41012345, 8192, IPC_CREAT | 0600) == -1 && errno == EINVAL, "size mismatch");
    CHECK(strcmp(last_error(), "shmget(key=0x41012345, size=8192, flags=IPC_CREAT|0600): a segment with this "
                                     "key exists with 4096 bytes, fewer than requested (EINVAL)") == 0,
          "%s", last_error());

    char *addr = SUT.shmat(id, NULL, 0);
    CHECK(addr != (void *)-1, "%s", last_error());
    CHECK(SUT.shmdt(addr + 10) == -1 && errno == EINVAL, "interior shmdt");
    char want[256];
    snprintf(want, sizeof want, "shmdt(shmaddr=%p): %p is inside segment %d attached at %p; pass the start address (EINVAL)",
             (void *)(addr + 10), (void *)(addr + 10), id, (void *)addr);
    CHECK(strcmp(last_error(), want) == 0, "\n  got:  %s\n  want: %s", last_error(), want);
    CHECK(SUT.shmdt(addr) == 0, "%s", last_error());

    if (strict) {
        CHECK(SUT.shmat(id, NULL, 0666) == (void *)-1 && errno == EINVAL, "permission bits to shmat");
        CHECK(strstr(last_error(), "flags=0666): flags has undefined bits 0666") != NULL, "%s", last_error());
    }

    CHECK(SUT.ftok("/no/such/file", 65) == -1 && errno == ENOENT, "ftok missing");
    CHECK(strcmp(last_error(), "ftok(path=\"/no/such/file\", proj_id=65): the path does not exist (ftok needs "
                                     "an existing file) (ENOENT)") == 0, "%s", last_error());
    if (strict) {
        CHECK(SUT.ftok(tmpfile_path, 0) == -1 && errno == EINVAL, "ftok proj 0");
        CHECK(strstr(last_error(), "the low 8 bits of proj_id (0x0) are zero") != NULL, "%s", last_error());
    } else {
        CHECK(SUT.ftok(tmpfile_path, 0) == REF.ftok(tmpfile_path, 0), "ftok proj 0 as glibc");
    }

    CHECK(SUT.shmctl(id, IPC_STAT, NULL) == -1 && errno == EFAULT, "IPC_STAT NULL");
    snprintf(want, sizeof want, "shmctl(shmid=%d, cmd=IPC_STAT, buf=NULL): IPC_STAT needs a buffer and buf is NULL (EFAULT)", id);
    CHECK(strcmp(last_error(), want) == 0, "%s", last_error());

    CHECK(SUT.shmctl(id, IPC_RMID, NULL) == 0, "%s", last_error());
    CHECK(SUT.shmctl(id, IPC_RMID, NULL) == -1 && errno == EINVAL, "removed twice");
    snprintf(want, sizeof want, "shmctl(shmid=%d, cmd=IPC_RMID, buf=NULL): no segment has id %d (EINVAL)", id, id);
    CHECK(strcmp(last_error(), want) == 0, "%s", last_error());

    CHECK(SUT.shmget(0x41012345, 4096, 0600) == -1 && errno == ENOENT, "missing key");
    CHECK(strcmp(last_error(), "shmget(key=0x41012345, size=4096, flags=0600): no segment exists for this key "
                                     "and IPC_CREAT was not given (ENOENT)") == 0, "%s", last_error());
    id = SUT.shmget(IPC_PRIVATE, 1, 0600); /* IPC_PRIVATE creates even without IPC_CREAT */
    CHECK(id >= 0, "%s", last_error());
    errno = 1234;
    CHECK(SUT.shmctl(id, IPC_RMID, NULL) == 0 && errno == 1234, "success leaves errno alone");
}

int main(void) {
    enter_private_ipc_namespace();
    choose_apis();
    int fd = mkstemp(tmpfile_path);
    if (fd < 0) { perror("mkstemp"); return 2; }
    close(fd);
    if (last_error) test_messages();
    test_ftok();
    test_shmget();
    test_shmat();
    test_shmdt();
    test_shmctl();
    test_limits();
    unlink(tmpfile_path);
    return harness_summary(SUT.name[0] == 'p' ? (strict ? "differential (preload, strict)" : "differential (preload)") : "differential");
}
