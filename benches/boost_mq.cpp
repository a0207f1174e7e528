/* Boost.Interprocess's message_queue behind a small C ABI, for rshm-bench's
 * many-to-one section (bench/src/boost.rs is the Rust side; bench/build.rs
 * compiles this file). A shim rather than a program of its own, so that the
 * Boost queue runs in the same process, with the same peers, pinning and
 * bracketed rounds as the rshm channel and the SysV queue it is compared with.
 *
 * message_queue keeps its messages in a POSIX shared-memory object
 * (/dev/shm/NAME) guarded by a process-shared mutex and two condition
 * variables: a full queue blocks its senders, an empty one its receiver, on
 * futexes. Every exception stops here: a failing call returns NULL or -1 and
 * leaves a message for rshm_bench_boost_error(). */
#include <boost/interprocess/ipc/message_queue.hpp>

#include <cstddef>
#include <cstdio>
#include <exception>

namespace ipc = boost::interprocess;

static thread_local char last_error[256];

static void remember(const char *call, const std::exception &e) {
    std::snprintf(last_error, sizeof last_error, "%s: %s", call, e.what());
}

extern "C" {

/* The message of the last failing call of this thread. */
const char *rshm_bench_boost_error(void) { return last_error; }

/* Creates the queue NAME (it must not exist) for max_msgs messages of up to msg_size bytes. */
void *rshm_bench_boost_create(const char *name, size_t max_msgs, size_t msg_size) {
    try {
        return new ipc::message_queue(ipc::create_only, name, max_msgs, msg_size);
    } catch (const std::exception &e) {
        remember("message_queue(create_only)", e);
        return nullptr;
    }
}

/* Opens the existing queue NAME. */
void *rshm_bench_boost_open(const char *name) {
    try {
        return new ipc::message_queue(ipc::open_only, name);
    } catch (const std::exception &e) {
        remember("message_queue(open_only)", e);
        return nullptr;
    }
}

/* Sends len bytes, waiting while the queue is full: 0, or -1. */
int rshm_bench_boost_send(void *queue, const void *buf, size_t len) {
    try {
        static_cast<ipc::message_queue *>(queue)->send(buf, len, 0);
        return 0;
    } catch (const std::exception &e) {
        remember("message_queue::send", e);
        return -1;
    }
}

/* Receives one message into buf (cap bytes), waiting while the queue is
 * empty: its length, or -1. */
long rshm_bench_boost_receive(void *queue, void *buf, size_t cap) {
    try {
        ipc::message_queue::size_type got = 0;
        unsigned int priority = 0;
        static_cast<ipc::message_queue *>(queue)->receive(buf, cap, got, priority);
        return static_cast<long>(got);
    } catch (const std::exception &e) {
        remember("message_queue::receive", e);
        return -1;
    }
}

/* Unmaps the queue (it stays until removed). */
void rshm_bench_boost_close(void *queue) { delete static_cast<ipc::message_queue *>(queue); }

/* Removes the queue NAME: 1 if it was there, else 0. */
int rshm_bench_boost_remove(const char *name) {
    try {
        return ipc::message_queue::remove(name) ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

}  // extern "C"
