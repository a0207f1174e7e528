// rshm.hpp without exceptions: built with -fno-exceptions, where only the nothrow forms
// exist. Every class through rshm::result, a dead mutex holder, a channel to its end, and
// value() of a failed result, which aborts with the message. tests/run/cpp.sh builds it as
// C++17 and C++20 and runs it. Ends with "nothrow_test: N passed, M failed".
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>

#include "check.hpp"
#include "rshm.hpp"

static_assert(RSHM_HPP_EXCEPTIONS == 0, "built with -fno-exceptions, rshm.hpp offers the nothrow forms only");

using namespace std::chrono_literals;

namespace {

// Whether S has the throwing form of write (no nothrow_t argument): it must not, here.
template <class S, class = void>
struct has_throwing_write : std::false_type {};
template <class S>
struct has_throwing_write<S, std::void_t<decltype(std::declval<S &>().write(0, nullptr, 0))>> : std::true_type {};
static_assert(!has_throwing_write<rshm::segment>::value, "no throwing forms without exceptions");


bool child_ok(pid_t child) {
    int status = 0;
    return waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void segments() {
    auto opened = rshm::segment::open(rshm::options().size(256).create().remove_on_close(), rshm::nothrow);
    CHECK(opened);
    if (!opened) return;
    rshm::segment seg = std::move(opened).value();
    CHECK(seg.write_str(0, "no exceptions", rshm::nothrow));
    auto text = seg.read_str(0, rshm::nothrow);
    CHECK(text && *text == "no exceptions");
    auto past = seg.write(250, "12345678", 8, rshm::nothrow);
    CHECK(past.status() == RSHM_ERR_OUT_OF_BOUNDS && past.error().errno_value() == ERANGE);
    CHECK(std::strstr(past.error().message(), "250") != nullptr);
    CHECK(std::strncmp(past.error().status_str(), "RSHM_ERR_OUT_OF_BOUNDS", 22) == 0);
    auto info = seg.stat(rshm::nothrow);
    CHECK(info && info->size == 256);

    auto missing = rshm::segment::open(rshm::options().key(0x52534960), rshm::nothrow);
    CHECK(missing.status() == RSHM_ERR_NOT_FOUND && missing.error().errno_value() == ENOENT);
}

void semaphores() {
    auto sem = rshm::semaphore::open(rshm::options().key(0x52534961).create().exclusive(), 1, rshm::nothrow);
    CHECK(sem);
    if (!sem) return;
    CHECK(sem->try_wait(rshm::nothrow));
    CHECK(sem->try_wait(rshm::nothrow).status() == RSHM_ERR_WOULD_BLOCK);
    CHECK(sem->try_wait_for(5ms, rshm::nothrow).status() == RSHM_ERR_TIMEOUT);
    CHECK(sem->post(rshm::nothrow) && sem->value(rshm::nothrow).value() == 1);
    CHECK(sem->remove(rshm::nothrow));
}

void mutexes() {
    const auto opts = rshm::options().key(0x52534962).size(4096);
    auto seg = rshm::segment::open(rshm::options(opts).create().exclusive().remove_on_close(), rshm::nothrow);
    CHECK(seg);
    if (!seg) return;
    auto m = rshm::mutex::init(*seg, 0, rshm::nothrow);
    CHECK(m);
    if (!m) return;
    const pid_t child = fork();
    if (child == 0) {
        auto own = rshm::segment::open(opts, rshm::nothrow);
        if (!own) _exit(1);
        auto held = rshm::mutex(*own, 0).lock(rshm::nothrow);
        _exit(held ? 0 : 1);  // dies holding it
    }
    CHECK(child_ok(child));
    auto guard = m->try_lock_for(5s, rshm::nothrow);
    CHECK(guard && guard->owns_lock() && guard->owner_died());
    if (!guard) return;
    CHECK(guard->consistent(rshm::nothrow) && !guard->owner_died());
    CHECK(guard->unlock(rshm::nothrow) && !guard->owns_lock());
    auto again = m->lock(rshm::nothrow);
    CHECK(again && !again->owner_died());
}

void channels() {
    const auto opts = rshm::options().key(0x52534963);
    auto rx = rshm::channel::create(rshm::options(opts).remove_on_close(), 1024, rshm::role::receiver, rshm::nothrow);
    CHECK(rx);
    if (!rx) return;
    const pid_t child = fork();
    if (child == 0) {
        auto tx = rshm::channel::open(opts, rshm::role::sender, rshm::nothrow);
        if (!tx) _exit(1);
        for (int i = 0; i < 100; ++i)
            if (!tx->send(std::to_string(i), rshm::nothrow)) _exit(1);
        _exit(0);  // without closing its end
    }
    char buf[32];
    int count = 0;
    rshm::result<std::size_t> got = std::size_t{0};
    while ((got = rx->try_recv_for(buf, sizeof buf, 5s, rshm::nothrow))) {
        if (std::string(buf, *got) != std::to_string(count)) break;
        ++count;
    }
    CHECK(count == 100);
    // The child exited without closing its end: the receiver is told the sender died.
    CHECK(got.status() == RSHM_ERR_PEER_DIED && !rx->closed());
    CHECK(child_ok(child));
}

// Zero-copy through results: a reservation committed, a message lent and released.
void zero_copy() {
    const auto opts = rshm::options().key(0x52534965);
    auto rx = rshm::channel::create(rshm::options(opts).remove_on_close(), 256, rshm::role::receiver, rshm::nothrow);
    auto tx = rshm::channel::open(opts, rshm::role::sender, rshm::nothrow);
    CHECK(rx && tx);
    if (!rx || !tx) return;
    auto room = tx->reserve(5, rshm::nothrow);
    CHECK(room && room->size() == 5);
    if (!room) return;
    std::memcpy(room->data(), "hello", 5);
    CHECK(room->commit(9, rshm::nothrow).status() == RSHM_ERR_INVALID_ARGUMENT && *room);
    CHECK(room->commit(5, rshm::nothrow) && !*room);
    auto lent = rx->peek(rshm::nothrow);
    CHECK(lent && lent->view() == "hello");
    CHECK(rx->try_peek(rshm::nothrow).status() == RSHM_ERR_INVALID_ARGUMENT);
    lent->release();
    CHECK(rx->try_peek(rshm::nothrow).status() == RSHM_ERR_WOULD_BLOCK);
    CHECK(tx->reserve(tx->max_reservation() + 1, rshm::nothrow).status() == RSHM_ERR_INVALID_ARGUMENT);
}

// value() of a failed result, without exceptions: the message on stderr, then abort.
void value_of_failure_aborts() {
    int pipe_fds[2];
    CHECK(pipe(pipe_fds) == 0);
    const pid_t child = fork();
    if (child == 0) {
        dup2(pipe_fds[1], 2);
        auto missing = rshm::segment::open(rshm::options().key(0x52534964), rshm::nothrow);
        (void)missing.value();
        _exit(0);
    }
    close(pipe_fds[1]);
    char said[512] = {};
    std::size_t len = 0;
    ssize_t n;
    while (len < sizeof said - 1 && (n = read(pipe_fds[0], said + len, sizeof said - 1 - len)) > 0)
        len += static_cast<std::size_t>(n);
    close(pipe_fds[0]);
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child && WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(std::strstr(said, "rshm: value() of a failed result:") != nullptr && std::strstr(said, "0x52534964") != nullptr);
}

}  // namespace

int main() {
    segments();
    semaphores();
    mutexes();
    channels();
    zero_copy();
    value_of_failure_aborts();
    std::printf("nothrow_test (C++%ld, -fno-exceptions): %d passed, %d failed\n", (__cplusplus / 100) % 100, passed,
                failed);
    return failed == 0 ? 0 : 1;
}
