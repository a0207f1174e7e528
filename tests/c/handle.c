/* The handle API's contract, line by line: statuses, NULLs, bounds, strings,
 * read-only, size mismatch, owner verification, removal on close (even after
 * SIGKILL), other processes and users, and threads sharing one handle. */
#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rshm.h"
#include "options.h"

#define NOBODY 65534

static char keyfile[] = "/tmp/rshm-handle-XXXXXX";

static int segments_in_namespace(void) {
    struct shm_info info;
    shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)&info);
    return info.used_ids;
}


static rshm_segment *open_ok(rshm_options opts) {
    rshm_segment *seg = NULL;
    rshm_status st = rshm_open(&opts, &seg);
    CHECK(st == RSHM_OK && seg != NULL, "rshm_open: %s: %s", rshm_status_str(st), rshm_last_error());
    return seg;
}

/* Opens with `opts`, expecting `want`; a failed open must leave NULL and create nothing. */
static void open_fails(const char *what, rshm_options opts, rshm_status want, const char *in_message) {
    rshm_segment *seg = (rshm_segment *)&opts; /* not NULL, to see it reset */
    int before = segments_in_namespace();
    rshm_status st = rshm_open(&opts, &seg);
    CHECK(st == want, "%s: got %s, want %s (%s)", what, rshm_status_str(st), rshm_status_str(want), rshm_last_error());
    CHECK(seg == NULL, "%s: a failed open must leave *out NULL", what);
    CHECK(segments_in_namespace() == before, "%s: a failed open created a segment", what);
    CHECK(strstr(rshm_last_error(), in_message) != NULL, "%s: message \"%s\" lacks \"%s\"", what, rshm_last_error(),
          in_message);
}

static int run_child(int (*child)(void *), void *arg, int as_nobody) {
    pid_t pid = fork();
    if (pid == 0) {
        alarm(10);
        if (as_nobody && (setgid(NOBODY) != 0 || setuid(NOBODY) != 0)) _exit(99);
        _exit(child(arg));
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_status_strings(void) {
    const char *names[] = {"RSHM_OK", "RSHM_ERR_INVALID_ARGUMENT", "RSHM_ERR_NOT_FOUND", "RSHM_ERR_EXISTS",
                           "RSHM_ERR_PERMISSION", "RSHM_ERR_NO_MEMORY", "RSHM_ERR_NO_SPACE", "RSHM_ERR_OUT_OF_BOUNDS",
                           "RSHM_ERR_READ_ONLY", "RSHM_ERR_REMOVED", "RSHM_ERR_SIZE_MISMATCH",
                           "RSHM_ERR_OWNER_MISMATCH", "RSHM_ERR_NULL_POINTER", "RSHM_ERR_PANIC", "RSHM_ERR_OS",
                           "RSHM_ERR_TIMEOUT", "RSHM_ERR_WOULD_BLOCK", "RSHM_ERR_OWNER_DIED",
                           "RSHM_ERR_NOT_RECOVERABLE", "RSHM_ERR_PEER_DIED", "RSHM_ERR_CLOSED", "RSHM_ERR_CORRUPT",
                           "RSHM_ERR_LAGGED"};
    CHECK(RSHM_ERR_OS == 14 && RSHM_OK == 0 && RSHM_ERR_CORRUPT == 21 && RSHM_ERR_LAGGED == 22,
          "status values are fixed");
    for (int i = 0; i <= RSHM_ERR_LAGGED; i++) {
        const char *s = rshm_status_str((rshm_status)i);
        CHECK(strncmp(s, names[i], strlen(names[i])) == 0 && s[strlen(names[i])] == ':', "status %d: %s", i, s);
    }
    int unknown[] = {-1, 23, 1000, INT32_MIN};
    for (int i = 0; i < 4; i++)
        CHECK(strcmp(rshm_status_str((rshm_status)unknown[i]), "unknown rshm_status") == 0, "status %d", unknown[i]);
}

static void test_null_pointers(void) {
    rshm_options opts = options(IPC_PRIVATE, 4096, RSHM_CREATE | RSHM_REMOVE_ON_CLOSE);
    rshm_segment *seg = (rshm_segment *)&opts;
    CHECK(rshm_open(NULL, &seg) == RSHM_ERR_NULL_POINTER && seg == NULL, "open(NULL opts)");
    CHECK(strcmp(rshm_last_error(), "rshm_open: opts is NULL (EFAULT)") == 0, "%s", rshm_last_error());
    CHECK(rshm_open(&opts, NULL) == RSHM_ERR_NULL_POINTER, "open(NULL out)");
    CHECK(strcmp(rshm_last_error(), "rshm_open: out is NULL (EFAULT)") == 0, "%s", rshm_last_error());
    rshm_close(NULL);
    CHECK(rshm_id(NULL) == -1 && strcmp(rshm_last_error(), "rshm_id: seg is NULL (EFAULT)") == 0, "id(NULL)");
    CHECK(rshm_key(NULL) == -1 && strstr(rshm_last_error(), "rshm_key: seg is NULL") != NULL, "key(NULL)");
    CHECK(rshm_data(NULL) == NULL && strstr(rshm_last_error(), "rshm_data: seg is NULL") != NULL, "data(NULL)");
    CHECK(rshm_size(NULL) == 0 && strstr(rshm_last_error(), "rshm_size: seg is NULL") != NULL, "size(NULL)");
    char buf[8];
    rshm_info info;
    CHECK(rshm_write(NULL, 0, buf, 1) == RSHM_ERR_NULL_POINTER, "write(NULL seg)");
    CHECK(rshm_read(NULL, 0, buf, 1) == RSHM_ERR_NULL_POINTER, "read(NULL seg)");
    CHECK(rshm_write_str(NULL, 0, "x") == RSHM_ERR_NULL_POINTER, "write_str(NULL seg)");
    CHECK(rshm_read_str(NULL, 0, buf, 8) == RSHM_ERR_NULL_POINTER, "read_str(NULL seg)");
    CHECK(rshm_stat(NULL, &info) == RSHM_ERR_NULL_POINTER, "stat(NULL seg)");
    CHECK(rshm_remove(NULL) == RSHM_ERR_NULL_POINTER, "remove(NULL seg)");
    seg = open_ok(opts);
    CHECK(rshm_write(seg, 0, NULL, 0) == RSHM_ERR_NULL_POINTER, "write(NULL src, 0)");
    CHECK(strcmp(rshm_last_error(), "rshm_write: src is NULL (EFAULT)") == 0, "%s", rshm_last_error());
    CHECK(rshm_read(seg, 0, NULL, 0) == RSHM_ERR_NULL_POINTER, "read(NULL dst, 0)");
    CHECK(rshm_write_str(seg, 0, NULL) == RSHM_ERR_NULL_POINTER, "write_str(NULL s)");
    CHECK(rshm_read_str(seg, 0, NULL, 8) == RSHM_ERR_NULL_POINTER, "read_str(NULL dst)");
    CHECK(rshm_stat(seg, NULL) == RSHM_ERR_NULL_POINTER, "stat(NULL out)");
    rshm_close(seg);
    /* synchronisation and channels */
    rshm_sem *sem = (rshm_sem *)&opts;
    rshm_channel *ch = (rshm_channel *)&opts;
    size_t len = 0;
    CHECK(rshm_sem_open(NULL, 0, &sem) == RSHM_ERR_NULL_POINTER && sem == NULL, "sem_open(NULL opts)");
    CHECK(rshm_sem_open(&opts, 0, NULL) == RSHM_ERR_NULL_POINTER, "sem_open(NULL out)");
    CHECK(rshm_sem_wait(NULL, 0) == RSHM_ERR_NULL_POINTER, "sem_wait(NULL)");
    CHECK(rshm_sem_post(NULL) == RSHM_ERR_NULL_POINTER, "sem_post(NULL)");
    CHECK(rshm_sem_remove(NULL) == RSHM_ERR_NULL_POINTER, "sem_remove(NULL)");
    rshm_sem_close(NULL);
    CHECK(rshm_mutex_init(NULL, 0) == RSHM_ERR_NULL_POINTER, "mutex_init(NULL)");
    CHECK(rshm_mutex_lock(NULL, 0, 0) == RSHM_ERR_NULL_POINTER, "mutex_lock(NULL)");
    CHECK(rshm_mutex_unlock(NULL, 0) == RSHM_ERR_NULL_POINTER, "mutex_unlock(NULL)");
    CHECK(rshm_mutex_consistent(NULL, 0) == RSHM_ERR_NULL_POINTER, "mutex_consistent(NULL)");
    CHECK(rshm_channel_create(NULL, 64, RSHM_CHANNEL_SENDER, &ch) == RSHM_ERR_NULL_POINTER && ch == NULL, "channel_create(NULL)");
    CHECK(rshm_channel_create(&opts, 64, RSHM_CHANNEL_SENDER, NULL) == RSHM_ERR_NULL_POINTER, "channel_create(NULL out)");
    CHECK(rshm_channel_open(NULL, RSHM_CHANNEL_RECEIVER, &ch) == RSHM_ERR_NULL_POINTER, "channel_open(NULL)");
    CHECK(rshm_channel_send(NULL, buf, 1, 0) == RSHM_ERR_NULL_POINTER, "channel_send(NULL)");
    CHECK(rshm_channel_try_send(NULL, buf, 1) == RSHM_ERR_NULL_POINTER, "channel_try_send(NULL)");
    CHECK(rshm_channel_recv(NULL, buf, 8, &len, 0) == RSHM_ERR_NULL_POINTER, "channel_recv(NULL)");
    CHECK(rshm_channel_try_recv(NULL, buf, 8, &len) == RSHM_ERR_NULL_POINTER, "channel_try_recv(NULL)");
    CHECK(rshm_channel_capacity(NULL) == 0, "channel_capacity(NULL)");
    rshm_channel_close(NULL);
    /* the libc-compatible calls: NULL is an error too, never a crash */
    CHECK(rshm_ftok(NULL, 1) == -1 && errno == EFAULT, "ftok(NULL)");
    CHECK(strcmp(rshm_last_error(), "ftok(path=NULL, proj_id=1): path is NULL (EFAULT)") == 0, "%s", rshm_last_error());
    CHECK(rshm_shmdt(NULL) == -1 && errno == EINVAL, "shmdt(NULL)");
    CHECK(rshm_shmctl(0, IPC_STAT, NULL) == -1, "shmctl(NULL)");
}

static void test_create_and_stat(void) {
    rshm_segment *seg = open_ok(options(IPC_PRIVATE, 4096, RSHM_CREATE));
    rshm_info info;
    memset(&info, 0xff, sizeof info);
    CHECK(rshm_stat(seg, &info) == RSHM_OK, "%s", rshm_last_error());
    CHECK(info.id == rshm_id(seg) && info.id >= 0, "id %d vs %d", info.id, rshm_id(seg));
    CHECK(info.key == IPC_PRIVATE && rshm_key(seg) == IPC_PRIVATE, "key");
    CHECK(info.size == 4096 && rshm_size(seg) == 4096, "size %zu", info.size);
    CHECK(info.mode == 0600, "mode 0 means 0600, got %o", info.mode);
    CHECK(info.uid == geteuid() && info.cuid == geteuid() && info.gid == getegid() && info.cgid == getegid(), "ids");
    CHECK(info.cpid == getpid() && info.lpid == getpid(), "pids");
    CHECK(info.nattch == 1 && !info.marked_for_removal && !info.locked, "nattch %lu", info.nattch);
    CHECK(info.ctime > 0 && info.atime >= info.ctime && info.dtime == 0, "times");
    CHECK(rshm_data(seg) != NULL, "data");
    CHECK(rshm_remove(seg) == RSHM_OK, "%s", rshm_last_error());
    CHECK(rshm_stat(seg, &info) == RSHM_OK && info.marked_for_removal, "marked");
    rshm_close(seg);
    CHECK(segments_in_namespace() == 0, "removed and closed: gone");

    rshm_options opts = options(IPC_PRIVATE, 100, RSHM_CREATE | RSHM_REMOVE_ON_CLOSE);
    opts.mode = 0640;
    seg = open_ok(opts);
    CHECK(rshm_stat(seg, &info) == RSHM_OK && info.mode == 0640 && info.size == 100, "mode 0640");
    rshm_close(seg);
}

static void test_bounds(void) {
    rshm_segment *seg = open_ok(options(IPC_PRIVATE, 4096, RSHM_CREATE | RSHM_REMOVE_ON_CLOSE));
    char buf[16] = "0123456789abcdef";
    CHECK(rshm_write(seg, 4096 - 16, buf, 16) == RSHM_OK, "write ending exactly at the end");
    CHECK(rshm_read(seg, 4096 - 16, buf, 16) == RSHM_OK && memcmp(buf, "0123456789abcdef", 16) == 0, "read back");
    CHECK(rshm_write(seg, 4096 - 15, buf, 16) == RSHM_ERR_OUT_OF_BOUNDS, "one byte past the end");
    char want[160];
    snprintf(want, sizeof want,
             "write(offset=4081, len=16): bytes 4081..4097 reach past the end of the 4096-byte segment %d (ERANGE)",
             rshm_id(seg));
    CHECK(strcmp(rshm_last_error(), want) == 0, "\n  got:  %s\n  want: %s", rshm_last_error(), want);
    CHECK(rshm_write(seg, SIZE_MAX, buf, 1) == RSHM_ERR_OUT_OF_BOUNDS, "offset SIZE_MAX does not wrap");
    CHECK(rshm_write(seg, 1, buf, SIZE_MAX) == RSHM_ERR_OUT_OF_BOUNDS, "len SIZE_MAX does not wrap");
    CHECK(rshm_read(seg, SIZE_MAX, buf, 1) == RSHM_ERR_OUT_OF_BOUNDS, "read offset SIZE_MAX");
    CHECK(rshm_read(seg, 4096, buf, 1) == RSHM_ERR_OUT_OF_BOUNDS, "read at the end");
    CHECK(rshm_write(seg, 4096, buf, 0) == RSHM_OK, "zero-length at the end");
    CHECK(rshm_read(seg, 0, buf, 0) == RSHM_OK, "zero-length read");
    CHECK(rshm_write(seg, 4097, buf, 0) == RSHM_ERR_OUT_OF_BOUNDS, "zero-length past the end");
    /* a source inside the segment itself (overlapping copy) */
    char *data = rshm_data(seg);
    CHECK(rshm_write(seg, 1, data, 100) == RSHM_OK, "overlapping write");
    rshm_close(seg);
}

static void test_strings(void) {
    rshm_segment *seg = open_ok(options(IPC_PRIVATE, 64, RSHM_CREATE | RSHM_REMOVE_ON_CLOSE));
    char out[64];
    CHECK(rshm_write_str(seg, 10, "Hello from shared memory!") == RSHM_OK, "%s", rshm_last_error());
    CHECK(rshm_read_str(seg, 10, out, sizeof out) == RSHM_OK && strcmp(out, "Hello from shared memory!") == 0,
          "round trip: %s", out);
    CHECK(rshm_read_str(seg, 10, out, 26) == RSHM_OK, "cap exactly strlen + 1");
    strcpy(out, "untouched");
    CHECK(rshm_read_str(seg, 10, out, 25) == RSHM_ERR_OUT_OF_BOUNDS && strcmp(out, "untouched") == 0,
          "cap one short: %s", rshm_last_error());
    CHECK(strstr(rshm_last_error(), "the string of 25 bytes and its NUL do not fit the 25-byte buffer") != NULL, "%s",
          rshm_last_error());
    CHECK(rshm_read_str(seg, 0, out, 0) == RSHM_ERR_OUT_OF_BOUNDS, "cap 0");
    CHECK(rshm_write_str(seg, 64 - 4, "abcd") == RSHM_ERR_OUT_OF_BOUNDS, "the NUL does not fit");
    CHECK(rshm_write_str(seg, 64 - 5, "abcd") == RSHM_OK, "the NUL fits exactly");
    CHECK(rshm_write(seg, 40, "xxxxxxxxxxxxxxxxxxxxxxxx", 24) == RSHM_OK, "fill the tail without NUL");
    CHECK(rshm_read_str(seg, 40, out, sizeof out) == RSHM_ERR_OUT_OF_BOUNDS && strcmp(out, "untouched") == 0,
          "no NUL before the end");
    CHECK(strstr(rshm_last_error(), "no NUL between offset 40 and the end of the 64-byte segment") != NULL, "%s",
          rshm_last_error());
    CHECK(rshm_read_str(seg, 64, out, sizeof out) == RSHM_ERR_OUT_OF_BOUNDS, "at the end");
    CHECK(rshm_read_str(seg, SIZE_MAX, out, sizeof out) == RSHM_ERR_OUT_OF_BOUNDS, "offset SIZE_MAX");
    rshm_close(seg);
}

static void test_keyed_open(void) {
    key_t key = rshm_ftok(keyfile, 'h');
    CHECK(key != -1, "%s", rshm_last_error());
    rshm_options create = options(0, 4096, RSHM_CREATE | RSHM_EXCLUSIVE);
    create.path = keyfile;
    create.proj_id = 'h';
    rshm_segment *owner = open_ok(create);
    CHECK(rshm_key(owner) == key, "key from path");
    CHECK(rshm_write_str(owner, 0, "from the owner") == RSHM_OK, "write");

    open_fails("exclusive on an existing key", create, RSHM_ERR_EXISTS, "(EEXIST)");
    rshm_options again = create;
    again.flags = RSHM_CREATE;
    rshm_segment *same = open_ok(again);
    CHECK(rshm_id(same) == rshm_id(owner), "CREATE without EXCLUSIVE opens the existing one");
    rshm_close(same);

    rshm_options reader = options(key, 0, RSHM_READ_ONLY);
    rshm_segment *ro = open_ok(reader);
    char out[32];
    CHECK(rshm_size(ro) == 4096, "size 0 opens whatever exists");
    CHECK(rshm_read_str(ro, 0, out, sizeof out) == RSHM_OK && strcmp(out, "from the owner") == 0, "read-only read");
    CHECK(rshm_write(ro, 0, "x", 1) == RSHM_ERR_READ_ONLY, "write through a read-only handle");
    CHECK(strstr(rshm_last_error(), "the segment is attached read-only") != NULL, "%s", rshm_last_error());
    CHECK(rshm_write_str(ro, 0, "x") == RSHM_ERR_READ_ONLY, "write_str through a read-only handle");
    CHECK(rshm_write(ro, 0, "x", 0) == RSHM_ERR_READ_ONLY, "even zero bytes");
    rshm_close(ro);

    open_fails("larger than existing", options(key, 8192, 0), RSHM_ERR_SIZE_MISMATCH,
               "a segment with this key exists with 4096 bytes, fewer than requested");
    open_fails("larger than existing, with create", options(key, 8192, RSHM_CREATE), RSHM_ERR_SIZE_MISMATCH, "4096 bytes");
    rshm_segment *smaller = open_ok(options(key, 100, 0));
    CHECK(rshm_size(smaller) == 4096, "opening with a smaller size gives the whole segment");
    rshm_close(smaller);

    /* rshm_remove: the key is free at once, the memory usable until close */
    CHECK(rshm_remove(owner) == RSHM_OK, "%s", rshm_last_error());
    CHECK(rshm_read_str(owner, 0, out, sizeof out) == RSHM_OK && strcmp(out, "from the owner") == 0, "usable");
    CHECK(rshm_write_str(owner, 0, "still") == RSHM_OK, "writable after remove");
    open_fails("removed key", options(key, 0, 0), RSHM_ERR_NOT_FOUND, "(ENOENT)");
    rshm_close(owner);
    CHECK(segments_in_namespace() == 0, "gone after close");
}

static void test_invalid_opens(void) {
    rshm_options opts = options(0, 4096, RSHM_CREATE);
    opts.path = "/no/such/rshm/file";
    opts.proj_id = 1;
    open_fails("ftok of a missing path", opts, RSHM_ERR_NOT_FOUND, "ftok(path=\"/no/such/rshm/file\"");
    opts.path = keyfile;
    opts.proj_id = 0;
    open_fails("proj_id 0", opts, RSHM_ERR_INVALID_ARGUMENT, "low 8 bits of proj_id");
    opts.proj_id = 512;
    open_fails("proj_id 512", opts, RSHM_ERR_INVALID_ARGUMENT, "low 8 bits of proj_id");
    open_fails("create with size 0", options(0x5253aa01, 0, RSHM_CREATE), RSHM_ERR_INVALID_ARGUMENT,
               "creating a segment needs a size above 0");
    open_fails("private without create", options(IPC_PRIVATE, 10, 0), RSHM_ERR_INVALID_ARGUMENT, "IPC_PRIVATE");
    open_fails("undefined flag", options(IPC_PRIVATE, 10, RSHM_CREATE | 0x400), RSHM_ERR_INVALID_ARGUMENT,
               "flags has undefined bits 0x400");
    open_fails("exclusive without create", options(0x5253aa02, 10, RSHM_EXCLUSIVE), RSHM_ERR_INVALID_ARGUMENT,
               "EXCLUSIVE needs CREATE");
    rshm_options wide = options(IPC_PRIVATE, 10, RSHM_CREATE);
    wide.mode = 04777;
    open_fails("mode beyond 0777", wide, RSHM_ERR_INVALID_ARGUMENT, "mode 04777 has bits beyond 0777");
    open_fails("missing key", options(0x5253aa03, 0, 0), RSHM_ERR_NOT_FOUND,
               "no segment exists for this key and IPC_CREAT was not given");
    open_fails("beyond shmmax", options(IPC_PRIVATE, SIZE_MAX, RSHM_CREATE), RSHM_ERR_INVALID_ARGUMENT, "shmmax");
}

/* ---- owner verification: a squatter pre-creates the key ---- */
static key_t squat_key = 0x5253bb01;
static int squat(void *unused) {
    (void)unused;
    return shmget(squat_key, 4096, IPC_CREAT | IPC_EXCL | 0666) >= 0 ? 0 : 1;
}

static void test_verify_owner(void) {
    CHECK(run_child(squat, NULL, 1) == 0, "nobody squats the key");
    int squatter = shmget(squat_key, 0, 0);
    open_fails("verify owner against a squatter", options(squat_key, 4096, RSHM_CREATE | RSHM_VERIFY_OWNER),
               RSHM_ERR_OWNER_MISMATCH, "was created by uid 65534 and is owned by uid 65534");
    CHECK(shmget(squat_key, 0, 0) == squatter, "the squatter's segment is untouched");
    rshm_segment *trusting = open_ok(options(squat_key, 4096, RSHM_CREATE));
    CHECK(rshm_id(trusting) == squatter, "without verification the squatter's segment is used");
    rshm_close(trusting);
    shmctl(squatter, IPC_RMID, NULL);

    rshm_segment *mine = open_ok(options(squat_key, 4096, RSHM_CREATE | RSHM_VERIFY_OWNER));
    rshm_segment *again = open_ok(options(squat_key, 4096, RSHM_VERIFY_OWNER));
    CHECK(rshm_id(mine) == rshm_id(again), "my own segment passes verification");
    rshm_close(again);
    /* given away: owner changed to nobody */
    struct shmid_ds ds;
    shmctl(rshm_id(mine), IPC_STAT, &ds);
    ds.shm_perm.uid = NOBODY;
    shmctl(rshm_id(mine), IPC_SET, &ds);
    open_fails("verify owner after the owner changed", options(squat_key, 0, RSHM_VERIFY_OWNER), RSHM_ERR_OWNER_MISMATCH,
               "owned by uid 65534");
    CHECK(rshm_remove(mine) == RSHM_OK, "%s", rshm_last_error());
    rshm_close(mine);
}

/* ---- removal on close ---- */
static int child_pipe[2];
static int open_private_and_wait(void *unused) {
    (void)unused;
    rshm_options opts = options(IPC_PRIVATE, 1 << 20, RSHM_CREATE | RSHM_REMOVE_ON_CLOSE);
    rshm_segment *seg = NULL;
    if (rshm_open(&opts, &seg) != RSHM_OK) return 1;
    int id = rshm_id(seg);
    if (write(child_pipe[1], &id, sizeof id) != sizeof id) return 2;
    pause(); /* killed here */
    return 3;
}

static void test_remove_on_close(void) {
    rshm_segment *seg = open_ok(options(IPC_PRIVATE, 4096, RSHM_CREATE | RSHM_REMOVE_ON_CLOSE));
    rshm_info info;
    CHECK(rshm_stat(seg, &info) == RSHM_OK && info.marked_for_removal, "a private segment is marked at once");
    CHECK(rshm_write_str(seg, 0, "usable") == RSHM_OK, "and usable");
    rshm_close(seg);
    CHECK(segments_in_namespace() == 0, "and gone at close");

    rshm_segment *keyed = open_ok(options(0x5253cc01, 4096, RSHM_CREATE | RSHM_REMOVE_ON_CLOSE));
    CHECK(rshm_stat(keyed, &info) == RSHM_OK && !info.marked_for_removal, "a keyed one stays findable");
    rshm_segment *other = open_ok(options(0x5253cc01, 0, 0));
    rshm_close(other);
    CHECK(segments_in_namespace() == 1, "closing another handle removes nothing");
    rshm_close(keyed);
    CHECK(segments_in_namespace() == 0, "closing the remove-on-close handle removes it");

    /* SIGKILL while attached leaks nothing */
    CHECK(pipe(child_pipe) == 0, "pipe");
    pid_t pid = fork();
    if (pid == 0) _exit(open_private_and_wait(NULL));
    int id = -1;
    CHECK(read(child_pipe[0], &id, sizeof id) == sizeof id && id >= 0, "child opened");
    CHECK(segments_in_namespace() == 1, "the child's segment exists");
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "killed");
    CHECK(segments_in_namespace() == 0, "nothing left after SIGKILL");
    close(child_pipe[0]);
    close(child_pipe[1]);
}

/* ---- other processes and users ---- */
static int read_in_child(void *want) {
    rshm_options opts = options(0, 0, RSHM_READ_ONLY);
    opts.path = keyfile;
    opts.proj_id = 'm';
    rshm_segment *seg = NULL;
    if (rshm_open(&opts, &seg) != RSHM_OK) return 1;
    char out[64];
    int ok = rshm_read_str(seg, 0, out, sizeof out) == RSHM_OK && strcmp(out, want) == 0;
    rshm_close(seg);
    return ok ? 0 : 2;
}

static int open_as_nobody(void *flags) {
    rshm_options opts = options(0x5253dd01, 0, *(unsigned *)flags);
    rshm_segment *seg = NULL;
    rshm_status st = rshm_open(&opts, &seg);
    if (st == RSHM_ERR_PERMISSION && seg == NULL && strstr(rshm_last_error(), "(EACCES)")) return 10;
    if (st != RSHM_OK) return 1;
    rshm_close(seg);
    return 0;
}

static void test_processes_and_users(void) {
    rshm_options opts = options(0, 128, RSHM_CREATE | RSHM_REMOVE_ON_CLOSE);
    opts.path = keyfile;
    opts.proj_id = 'm';
    rshm_segment *seg = open_ok(opts);
    CHECK(rshm_write_str(seg, 0, "across processes") == RSHM_OK, "write");
    int code = run_child(read_in_child, "across processes", 0);
    CHECK(code == 0, "a child reads what the parent wrote (status %d)", code);
    rshm_close(seg);

    unsigned rw = 0, ro = RSHM_READ_ONLY;
    rshm_options priv = options(0x5253dd01, 64, RSHM_CREATE | RSHM_REMOVE_ON_CLOSE);
    seg = open_ok(priv);
    CHECK(run_child(open_as_nobody, &ro, 1) == 10, "0600: nobody may not read");
    CHECK(run_child(open_as_nobody, &rw, 1) == 10, "0600: nobody may not write");
    rshm_close(seg);
    priv.mode = 0644;
    seg = open_ok(priv);
    CHECK(run_child(open_as_nobody, &ro, 1) == 0, "0644: nobody may read");
    CHECK(run_child(open_as_nobody, &rw, 1) == 10, "0644: nobody may not write");
    rshm_close(seg);
}

/* ---- threads sharing one handle ---- */
static rshm_segment *shared;
static void *thread_body(void *arg) {
    long t = (long)arg;
    unsigned char block[256], back[256];
    for (int round = 0; round < 2000; round++) {
        memset(block, (int)(t * 31 + round) & 0xff, sizeof block);
        size_t offset = (size_t)t * sizeof block;
        if (rshm_write(shared, offset, block, sizeof block) != RSHM_OK) return (void *)1;
        if (rshm_read(shared, offset, back, sizeof back) != RSHM_OK) return (void *)2;
        if (memcmp(block, back, sizeof block) != 0) return (void *)3;
        if (rshm_write(shared, 8 * 256 + 1, block, SIZE_MAX) != RSHM_ERR_OUT_OF_BOUNDS) return (void *)4;
    }
    return NULL;
}

static void test_mutex_and_channel(void) {
    rshm_segment *seg = open_ok(options(IPC_PRIVATE, 4096, RSHM_CREATE | RSHM_REMOVE_ON_CLOSE));
    CHECK(rshm_mutex_lock(seg, 0, 0) == RSHM_ERR_CORRUPT, "no mutex there yet: %s", rshm_last_error());
    CHECK(rshm_mutex_init(seg, 3) == RSHM_ERR_INVALID_ARGUMENT, "misaligned");
    CHECK(rshm_mutex_init(seg, 4096 - RSHM_MUTEX_SIZE + 8) == RSHM_ERR_OUT_OF_BOUNDS, "past the end");
    CHECK(rshm_mutex_init(seg, 64) == RSHM_OK, "%s", rshm_last_error());
    CHECK(rshm_mutex_lock(seg, 64, -1) == RSHM_OK, "lock");
    CHECK(rshm_mutex_unlock(seg, 64) == RSHM_OK, "unlock");
    CHECK(rshm_mutex_unlock(seg, 64) == RSHM_ERR_PERMISSION, "unlock twice");
    rshm_close(seg);

    rshm_options opts = options(0x5253ab01, 0, RSHM_REMOVE_ON_CLOSE);
    rshm_channel *tx = NULL, *rx = NULL;
    CHECK(rshm_channel_create(&opts, 64, 7, &tx) == RSHM_ERR_INVALID_ARGUMENT && tx == NULL, "an unknown role");
    CHECK(rshm_channel_create(&opts, 64, RSHM_CHANNEL_SENDER, &tx) == RSHM_OK, "%s", rshm_last_error());
    opts.flags = 0;
    CHECK(rshm_channel_open(&opts, RSHM_CHANNEL_RECEIVER, &rx) == RSHM_OK, "%s", rshm_last_error());
    CHECK(rshm_channel_capacity(tx) == 64, "capacity");
    char out[64];
    size_t len = 0;
    CHECK(rshm_channel_try_recv(rx, out, sizeof out, &len) == RSHM_ERR_WOULD_BLOCK, "empty");
    CHECK(rshm_channel_recv(rx, out, sizeof out, &len, 10) == RSHM_ERR_TIMEOUT, "timeout");
    CHECK(rshm_channel_send(tx, "hello", 6, -1) == RSHM_OK, "send");
    CHECK(rshm_channel_recv(rx, out, 3, &len, 0) == RSHM_ERR_OUT_OF_BOUNDS && len == 6, "too small: len %zu", len);
    CHECK(rshm_channel_recv(rx, out, sizeof out, &len, 0) == RSHM_OK && len == 6 && strcmp(out, "hello") == 0, "recv");
    CHECK(rshm_channel_send(tx, out, 57, 0) == RSHM_ERR_INVALID_ARGUMENT, "larger than capacity - 8");
    rshm_channel_close(tx);
    CHECK(rshm_channel_recv(rx, out, sizeof out, &len, -1) == RSHM_ERR_CLOSED, "closed: %s", rshm_last_error());
    rshm_channel_close(rx);
    rshm_segment *plain = open_ok(options(0x5253ab02, 4096, RSHM_CREATE | RSHM_REMOVE_ON_CLOSE));
    rshm_options not_a_channel = options(0x5253ab02, 0, 0);
    CHECK(rshm_channel_open(&not_a_channel, RSHM_CHANNEL_RECEIVER, &rx) == RSHM_ERR_CORRUPT && rx == NULL, "not a channel");
    rshm_close(plain);
}

static void test_threads(void) {
    shared = open_ok(options(IPC_PRIVATE, 8 * 256, RSHM_CREATE | RSHM_REMOVE_ON_CLOSE));
    pthread_t threads[8];
    for (long t = 0; t < 8; t++) pthread_create(&threads[t], NULL, thread_body, (void *)t);
    for (int t = 0; t < 8; t++) {
        void *result;
        pthread_join(threads[t], &result);
        CHECK(result == NULL, "thread %d failed at step %ld", t, (long)result);
    }
    rshm_close(shared);
}

int main(void) {
    enter_private_ipc_namespace();
    int fd = mkstemp(keyfile);
    if (fd < 0) { perror("mkstemp"); return 2; }
    close(fd);
    chmod(keyfile, 0644);
    test_status_strings();
    test_null_pointers();
    test_create_and_stat();
    test_bounds();
    test_strings();
    test_keyed_open();
    test_invalid_opens();
    test_verify_owner();
    test_remove_on_close();
    test_processes_and_users();
    test_threads();
    test_mutex_and_channel();
    CHECK(segments_in_namespace() == 0, "every test removed what it made (%d left)", segments_in_namespace());
    unlink(keyfile);
    return harness_summary("handle");
}
