/* rshm_options that can grow (a caller built against a smaller, older
 * layout; one built against a newer, larger one; garbage sizes) and the
 * everyday calls: open by id, change mode and owner, a semaphore's value and
 * waiters, removing a channel. */
#include "harness.h"

#include <pthread.h>
#include <stddef.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rshm.h"

#define NOBODY 65534

/* The layout a caller built before `id` was added would have: a prefix of today's. */
typedef struct {
    size_t struct_size;
    const char *path;
    int proj_id;
    key_t key;
    size_t size;
    unsigned mode;
    unsigned flags;
} older_options;

/* A newer caller's layout: today's, then an option this library does not know. */
typedef struct {
    rshm_options today;
    unsigned long long newer_option;
} newer_options;

static int segments(void) {
    struct shm_info info;
    return shmctl(0, SHM_INFO, (struct shmid_ds *)&info) < 0 ? -1 : info.used_ids;
}

static void test_growing_options(void) {
    rshm_options init = RSHM_OPTIONS_INIT;
    CHECK(init.struct_size == sizeof(rshm_options) && init.path == NULL && init.flags == 0, "RSHM_OPTIONS_INIT");
    rshm_options filled;
    memset(&filled, 0xff, sizeof filled);
    rshm_options_init(&filled);
    CHECK(memcmp(&filled, &init, sizeof init) == 0, "rshm_options_init gives RSHM_OPTIONS_INIT");
    rshm_options_init(NULL);

    /* An older caller: its struct ends before `id`, and nothing past it is read. */
    older_options *older = malloc(sizeof *older);
    memset(older, 0, sizeof *older);
    older->struct_size = sizeof *older;
    older->size = 4096;
    older->flags = RSHM_CREATE | RSHM_REMOVE_ON_CLOSE;
    rshm_segment *seg = NULL;
    rshm_status st = rshm_open((const rshm_options *)older, &seg);
    CHECK(st == RSHM_OK && rshm_size(seg) == 4096, "an older, smaller layout: %s", rshm_last_error());
    rshm_close(seg);
    free(older); /* malloc'd at its own size: valgrind would see a read past it */

    /* Zeroed, as today's callers do: this layout. */
    rshm_options zeroed;
    memset(&zeroed, 0, sizeof zeroed);
    zeroed.size = 64;
    zeroed.flags = RSHM_CREATE | RSHM_REMOVE_ON_CLOSE;
    CHECK(rshm_open(&zeroed, &seg) == RSHM_OK, "a zeroed struct: %s", rshm_last_error());
    rshm_close(seg);

    /* A newer caller: unknown options must be zero, else refused. */
    newer_options newer;
    memset(&newer, 0, sizeof newer);
    newer.today = init;
    newer.today.struct_size = sizeof newer;
    newer.today.size = 64;
    newer.today.flags = RSHM_CREATE | RSHM_REMOVE_ON_CLOSE;
    CHECK(rshm_open(&newer.today, &seg) == RSHM_OK, "a newer layout asking nothing new: %s", rshm_last_error());
    rshm_close(seg);
    newer.newer_option = 1;
    int before = segments();
    st = rshm_open(&newer.today, &seg);
    CHECK(st == RSHM_ERR_INVALID_ARGUMENT && seg == NULL, "a newer option: %s", rshm_status_str(st));
    CHECK(strstr(rshm_last_error(), "newer rshm") != NULL, "%s", rshm_last_error());
    CHECK(segments() == before, "nothing made");

    /* Garbage sizes. */
    size_t garbage[] = {1, 8, offsetof(rshm_options, flags), 1 << 20, (size_t)-1};
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        rshm_options opts = init;
        opts.struct_size = garbage[i];
        opts.size = 64;
        opts.flags = RSHM_CREATE;
        st = rshm_open(&opts, &seg);
        CHECK(st == RSHM_ERR_INVALID_ARGUMENT && strstr(rshm_last_error(), "struct_size"),
              "struct_size %zu: %s: %s", garbage[i], rshm_status_str(st), rshm_last_error());
        rshm_sem *sem = NULL;
        CHECK(rshm_sem_open(&opts, 0, &sem) == RSHM_ERR_INVALID_ARGUMENT && sem == NULL, "sem with %zu", garbage[i]);
        rshm_channel *ch = NULL;
        CHECK(rshm_channel_create(&opts, 64, RSHM_CHANNEL_SENDER, &ch) == RSHM_ERR_INVALID_ARGUMENT && ch == NULL,
              "channel with %zu", garbage[i]);
    }
    CHECK(strcmp(rshm_status_str(99), "unknown rshm_status") == 0, "any int names a status");
}

static void test_open_by_id(void) {
    rshm_options opts = RSHM_OPTIONS_INIT;
    opts.key = 0x52455901;
    opts.size = 4096;
    opts.flags = RSHM_CREATE | RSHM_REMOVE_ON_CLOSE;
    rshm_segment *made, *by_id = NULL;
    CHECK(rshm_open(&opts, &made) == RSHM_OK, "%s", rshm_last_error());
    rshm_write_str(made, 0, "found by id");
    rshm_options id = RSHM_OPTIONS_INIT;
    id.flags = RSHM_BY_ID;
    id.id = rshm_id(made);
    CHECK(rshm_open(&id, &by_id) == RSHM_OK, "%s", rshm_last_error());
    char text[32] = "";
    CHECK(by_id && rshm_read_str(by_id, 0, text, sizeof text) == RSHM_OK && strcmp(text, "found by id") == 0, "%s",
          text);
    CHECK(by_id && rshm_key(by_id) == 0x52455901 && rshm_id(by_id) == rshm_id(made), "same segment");
    rshm_close(by_id);
    id.id = 987654;
    CHECK(rshm_open(&id, &by_id) == RSHM_ERR_INVALID_ARGUMENT && strstr(rshm_last_error(), "no segment has id 987654"),
          "%s", rshm_last_error());
    id.id = rshm_id(made);
    id.flags = RSHM_BY_ID | RSHM_CREATE;
    CHECK(rshm_open(&id, &by_id) == RSHM_ERR_INVALID_ARGUMENT, "create by id: %s", rshm_last_error());
    rshm_close(made);
}

static void test_mode_and_owner(void) {
    rshm_options opts = RSHM_OPTIONS_INIT;
    opts.size = 64;
    opts.flags = RSHM_CREATE | RSHM_REMOVE_ON_CLOSE;
    rshm_segment *seg;
    CHECK(rshm_open(&opts, &seg) == RSHM_OK, "%s", rshm_last_error());
    rshm_info info;
    CHECK(rshm_set_mode(seg, 0640) == RSHM_OK && rshm_stat(seg, &info) == RSHM_OK, "%s", rshm_last_error());
    CHECK(info.mode == 0640 && info.uid == 0, "mode 0%o uid %u", info.mode, (unsigned)info.uid);
    CHECK(rshm_set_mode(seg, 01777) == RSHM_ERR_INVALID_ARGUMENT, "beyond 0777");
    CHECK(rshm_set_owner(seg, NOBODY, NOBODY) == RSHM_OK && rshm_stat(seg, &info) == RSHM_OK, "%s", rshm_last_error());
    CHECK(info.mode == 0640 && info.uid == NOBODY && info.gid == NOBODY && info.cuid == 0,
          "the owner changed, the mode stayed: 0%o uid %u", info.mode, (unsigned)info.uid);
    CHECK(rshm_set_mode(NULL, 0600) == RSHM_ERR_NULL_POINTER, "NULL");
    rshm_close(seg);
}

static rshm_sem *shared_sem;
static void *waiter(void *arg) {
    (void)arg;
    rshm_sem_wait(shared_sem, 2000);
    return NULL;
}

static void test_semaphore_value_and_waiters(void) {
    rshm_options opts = RSHM_OPTIONS_INIT;
    opts.key = 0x52455902;
    opts.flags = RSHM_CREATE | RSHM_EXCLUSIVE;
    CHECK(rshm_sem_open(&opts, 2, &shared_sem) == RSHM_OK, "%s", rshm_last_error());
    unsigned value = 99, count = 99;
    CHECK(rshm_sem_value(shared_sem, &value) == RSHM_OK && value == 2, "value %u", value);
    rshm_sem_wait(shared_sem, 0);
    rshm_sem_wait(shared_sem, 0);
    CHECK(rshm_sem_value(shared_sem, &value) == RSHM_OK && value == 0, "value %u", value);
    pthread_t thread;
    pthread_create(&thread, NULL, waiter, NULL);
    for (int i = 0; i < 200 && rshm_sem_waiters(shared_sem, &count) == RSHM_OK && count == 0; i++) usleep(5000);
    CHECK(count == 1, "one waiter: %u", count);
    rshm_sem_post(shared_sem);
    pthread_join(thread, NULL);
    CHECK(rshm_sem_value(shared_sem, NULL) == RSHM_ERR_NULL_POINTER, "NULL value");
    CHECK(rshm_sem_remove(shared_sem) == RSHM_OK, "%s", rshm_last_error());
    rshm_sem_close(shared_sem);
}

static void test_channel_remove(void) {
    rshm_options opts = RSHM_OPTIONS_INIT;
    opts.key = 0x52455903;
    rshm_channel *tx, *rx;
    CHECK(rshm_channel_create(&opts, 64, RSHM_CHANNEL_SENDER, &tx) == RSHM_OK, "%s", rshm_last_error());
    CHECK(rshm_channel_open(&opts, RSHM_CHANNEL_RECEIVER, &rx) == RSHM_OK, "%s", rshm_last_error());
    int before = segments();
    CHECK(rshm_channel_remove(tx) == RSHM_OK, "%s", rshm_last_error());
    CHECK(rshm_channel_send(tx, "still works", 12, 0) == RSHM_OK, "the ends keep working until closed");
    char buf[16];
    size_t len;
    CHECK(rshm_channel_recv(rx, buf, sizeof buf, &len, 0) == RSHM_OK && len == 12, "received");
    rshm_channel *late = NULL;
    CHECK(rshm_channel_open(&opts, RSHM_CHANNEL_RECEIVER, &late) == RSHM_ERR_NOT_FOUND, "nobody can open it now");
    rshm_channel_close(tx);
    rshm_channel_close(rx);
    CHECK(segments() == before - 1, "its memory is freed when both ends close: %d -> %d", before, segments());
}

int main(void) {
    enter_private_ipc_namespace();
    test_growing_options();
    test_open_by_id();
    test_mode_and_owner();
    test_semaphore_value_and_waiters();
    test_channel_remove();
    CHECK(segments() == 0, "every test removed what it made (%d left)", segments());
    return harness_summary("everyday");
}
