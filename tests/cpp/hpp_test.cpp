// rshm.hpp, the C++ layer, as a specification: the options builder, segments (by key, path
// and id; strings, values, bounds, stat, mode, owner, removal, moves), errors with their
// status, errno and message, semaphores, mutexes whose holder dies, channels between
// processes, timeouts, and the nothrow form next to each throwing one. tests/run/cpp.sh
// builds it as C++17 and C++20 (spans) and with ASan and UBSan, and runs it in an IPC
// namespace of its own. Ends with "hpp_test: N passed, M failed".
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "check.hpp"
#include "rshm.hpp"

using namespace std::chrono_literals;
using std::chrono::steady_clock;

namespace {


// The status of the rshm::error that f throws (RSHM_OK if it throws none); the error itself
// in *caught.
template <class F>
rshm_status thrown(F &&f, std::string *caught = nullptr, int *errno_value = nullptr) {
    try {
        f();
    } catch (const rshm::error &e) {
        if (caught != nullptr) *caught = e.what();
        if (errno_value != nullptr) *errno_value = e.errno_value();
        return e.status();
    }
    return RSHM_OK;
}

bool contains(const std::string &text, const char *part) { return text.find(part) != std::string::npos; }

long elapsed_ms(steady_clock::time_point since) {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - since).count());
}

// Waits for a child and says whether it exited with 0.
bool child_ok(pid_t child) {
    int status = 0;
    return waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

rshm::options private_segment(std::size_t size) { return rshm::options().size(size).create().remove_on_close(); }

void options_builder() {
    const rshm_options fresh = rshm::options().c_options();
    rshm_options init;
    std::memset(&init, 0x5a, sizeof init);
    rshm_options_init(&init);
    CHECK(fresh.struct_size == sizeof(rshm_options) && init.struct_size == sizeof(rshm_options));
    CHECK(fresh.path == nullptr && init.path == nullptr);
    CHECK(fresh.key == IPC_PRIVATE && fresh.size == 0 && fresh.mode == 0 && fresh.flags == 0 && fresh.id == 0);
    CHECK(init.key == fresh.key && init.size == fresh.size && init.mode == fresh.mode && init.flags == fresh.flags);

    rshm::options o;
    o.path("app.key", 'A').size(64).mode(0640).create().exclusive().remove_on_close().verify_owner();
    rshm_options c = o.c_options();
    CHECK(c.path != nullptr && std::strcmp(c.path, "app.key") == 0 && c.proj_id == 'A');
    CHECK(c.size == 64 && c.mode == 0640);
    CHECK(c.flags == (RSHM_CREATE | RSHM_EXCLUSIVE | RSHM_REMOVE_ON_CLOSE | RSHM_VERIFY_OWNER));
    o.exclusive(false).read_only().huge_pages();
    CHECK(o.c_options().flags ==
          (RSHM_CREATE | RSHM_REMOVE_ON_CLOSE | RSHM_VERIFY_OWNER | RSHM_READ_ONLY | RSHM_HUGE_PAGES));
    o.flags(RSHM_CREATE);
    CHECK(o.c_options().flags == RSHM_CREATE);

    // The last of key, path and id names the segment.
    o.id(7);
    c = o.c_options();
    CHECK(c.path == nullptr && c.id == 7 && (c.flags & RSHM_BY_ID) != 0 && (c.flags & RSHM_CREATE) != 0);
    o.key(0x1234);
    c = o.c_options();
    CHECK(c.path == nullptr && c.key == 0x1234 && (c.flags & RSHM_BY_ID) == 0);
    o.path("other", 2);
    CHECK(o.c_options().path != nullptr && std::strcmp(o.c_options().path, "other") == 0);

    // From a C struct (RSHM_OPTIONS_INIT): the path is copied, not borrowed.
    char file[] = "from-c";
    rshm_options raw = RSHM_OPTIONS_INIT;
    raw.path = file;
    raw.proj_id = 3;
    raw.size = 128;
    raw.flags = RSHM_CREATE;
    const rshm::options from(raw);
    file[0] = 'X';
    c = from.c_options();
    CHECK(c.path != file && std::strcmp(c.path, "from-c") == 0 && c.proj_id == 3 && c.size == 128);
    const rshm::options copy = from;
    CHECK(copy.c_options().path != c.path && std::strcmp(copy.c_options().path, "from-c") == 0);
}

void segment_access() {
    auto seg = rshm::segment::open(private_segment(4096));
    CHECK(seg.is_open() && static_cast<bool>(seg));
    CHECK(seg.size() == 4096 && seg.id() >= 0 && seg.key() == IPC_PRIVATE && seg.data() != nullptr);

    seg.write_str(0, "hello");
    CHECK(seg.read_str(0) == "hello");
    seg.write_str(10, std::string("from a std::string"));
    CHECK(seg.read_str(10) == "from a std::string");
    // Longer than the first buffer read_str tries: it grows until the string fits.
    const std::string long_text(1500, 'x');
    seg.write_str(100, long_text);
    CHECK(seg.read_str(100) == long_text);
    // A string that ends at the segment's last byte.
    seg.write_str(4092, "abc");
    CHECK(seg.read_str(4092) == "abc");
    // No NUL before the end, an offset at or past the end: out of bounds.
    seg.write(4086, "zzzzzzzzzz", 10);
    CHECK(thrown([&] { (void)seg.read_str(4086); }) == RSHM_ERR_OUT_OF_BOUNDS);
    CHECK(thrown([&] { (void)seg.read_str(4096); }) == RSHM_ERR_OUT_OF_BOUNDS);
    CHECK(thrown([&] { (void)seg.read_str(static_cast<std::size_t>(-1)); }) == RSHM_ERR_OUT_OF_BOUNDS);

    char bytes[4] = {};
    seg.write(20, "abcd", 4);
    seg.read(20, bytes, 4);
    CHECK(std::memcmp(bytes, "abcd", 4) == 0);
    seg.write(4096, "", 0);  // zero bytes at the end: inside

    struct sample {
        int a;
        double b;
    };
    seg.write_value(1, sample{42, 2.5});  // unaligned: copied byte for byte
    const sample back = seg.read_value<sample>(1);
    CHECK(back.a == 42 && back.b == 2.5);
    CHECK(thrown([&] { (void)seg.read_value<std::uint64_t>(4090); }) == RSHM_ERR_OUT_OF_BOUNDS);
    CHECK(thrown([&] { seg.write(0, nullptr, 0); }) == RSHM_ERR_NULL_POINTER);

    // The error carries the status, the errno and rshm_last_error()'s text.
    std::string message;
    int error_number = 0;
    CHECK(thrown([&] { seg.write(4090, "too long", 8); }, &message, &error_number) == RSHM_ERR_OUT_OF_BOUNDS);
    CHECK(error_number == ERANGE);
    CHECK(contains(message, "4090") && contains(message, "(ERANGE)"));
    try {
        seg.write(4090, "too long", 8);
    } catch (const rshm::error &e) {
        CHECK(std::strncmp(e.status_str(), "RSHM_ERR_OUT_OF_BOUNDS", 22) == 0);
        const std::string before = e.what();
        CHECK(thrown([&] { seg.write(0, nullptr, 1); }) == RSHM_ERR_NULL_POINTER);
        CHECK(before == e.what());  // the message was copied: a later failure does not change it
        CHECK(contains(rshm_last_error(), "NULL"));
    }

    const rshm::info now = seg.stat();
    CHECK(now.size == 4096 && now.mode == 0600 && now.id == seg.id() && now.nattch == 1);
    CHECK(now.marked_for_removal);  // private and remove_on_close: marked at once
    seg.set_mode(0640);
    CHECK(seg.stat().mode == 0640);
    CHECK(thrown([&] { seg.set_mode(01000); }) == RSHM_ERR_INVALID_ARGUMENT);
    seg.set_owner(getuid(), getgid());
    CHECK(seg.stat().uid == getuid());

#if RSHM_HPP_SPAN
    CHECK(seg.bytes().size() == seg.size() && seg.bytes().data() == seg.data());
    const int numbers[3] = {1, 2, 3};
    seg.write(200, std::as_bytes(std::span(numbers)));
    int copied[3] = {};
    seg.read(200, std::as_writable_bytes(std::span(copied)));
    CHECK(copied[0] == 1 && copied[2] == 3);
    seg.write(4096, std::span<const std::byte>());  // empty, with a NULL data(): fine
    CHECK(thrown([&] { seg.write(4095, std::as_bytes(std::span(numbers))); }) == RSHM_ERR_OUT_OF_BOUNDS);
#endif
}

void segment_by_key_path_and_id() {
    char dir[] = "/tmp/rshm-hpp-XXXXXX";
    CHECK(mkdtemp(dir) != nullptr);
    const std::string file = std::string(dir) + "/app.key";
    std::FILE *f = std::fopen(file.c_str(), "w");
    CHECK(f != nullptr && std::fclose(f) == 0);
    {
        auto made = rshm::segment::open(rshm::options().path(file, 'A').size(128).create().exclusive());
        auto by_path = rshm::segment::open(rshm::options().path(file, 'A'));
        auto by_id = rshm::segment::open(rshm::options().id(made.id()));
        auto by_key = rshm::segment::open(rshm::options().key(made.key()));
        CHECK(made.key() == rshm_ftok(file.c_str(), 'A'));
        CHECK(by_path.id() == made.id() && by_id.id() == made.id() && by_key.id() == made.id());
        by_path.write_str(0, "shared");
        CHECK(by_id.read_str(0) == "shared" && by_key.read_str(0) == "shared");

        int error_number = 0;
        CHECK(thrown([&] { (void)rshm::segment::open(rshm::options().path(file, 'A').size(128).create().exclusive()); },
                     nullptr, &error_number) == RSHM_ERR_EXISTS);
        CHECK(error_number == EEXIST);
        CHECK(thrown([&] { (void)rshm::segment::open(rshm::options().path(file, 'A').size(4096)); }) ==
              RSHM_ERR_SIZE_MISMATCH);
        auto reader = rshm::segment::open(rshm::options().id(made.id()).read_only());
        CHECK(thrown([&] { reader.write_str(0, "no"); }) == RSHM_ERR_READ_ONLY);
        CHECK(reader.read_str(0) == "shared");

        made.remove();
        CHECK(made.stat().marked_for_removal);
        CHECK(by_key.read_str(0) == "shared");  // usable until closed
        CHECK(thrown([&] { (void)rshm::segment::open(rshm::options().path(file, 'A')); }) == RSHM_ERR_NOT_FOUND);
    }
    std::string message;
    int error_number = 0;
    CHECK(thrown([&] { (void)rshm::segment::open(rshm::options().key(0x52534899)); }, &message, &error_number) ==
          RSHM_ERR_NOT_FOUND);
    CHECK(error_number == ENOENT && contains(message, "0x52534899"));
    CHECK(thrown([&] { (void)rshm::segment::open(rshm::options().path(std::string(dir) + "/missing", 'A')); }) ==
          RSHM_ERR_NOT_FOUND);
    CHECK(thrown([&] { (void)rshm::segment::open(rshm::options().size(64)); }) == RSHM_ERR_INVALID_ARGUMENT);

    // A C struct goes wherever options go.
    rshm_options raw = RSHM_OPTIONS_INIT;
    raw.size = 64;
    raw.flags = RSHM_CREATE | RSHM_REMOVE_ON_CLOSE;
    auto from_c = rshm::segment::open(raw);
    CHECK(from_c.size() == 64);

    std::remove(file.c_str());
    rmdir(dir);
}

void segment_moves() {
    auto a = rshm::segment::open(private_segment(64));
    const int id = a.id();
    rshm::segment b = std::move(a);
    CHECK(!a && b && b.id() == id);
    CHECK(a.size() == 0 && a.id() == -1 && a.data() == nullptr);
    CHECK(thrown([&] { a.write_str(0, "x"); }) == RSHM_ERR_NULL_POINTER);

    // Move-assigning closes what the target held (here: removes it, remove_on_close).
    auto keyed = rshm::segment::open(rshm::options().key(0x52534810).size(64).create().exclusive().remove_on_close());
    keyed = std::move(b);
    CHECK(keyed.id() == id);
    CHECK(thrown([&] { (void)rshm::segment::open(rshm::options().key(0x52534810)); }) == RSHM_ERR_NOT_FOUND);

    rshm_segment *handle = keyed.release();
    CHECK(!keyed && rshm_id(handle) == id);
    rshm::segment adopted(handle);
    CHECK(adopted.id() == id);
    adopted.close();
    CHECK(!adopted);
    adopted.close();  // twice: nothing held, no-op
}

void nothrow_forms() {
    auto missing = rshm::segment::open(rshm::options().key(0x52534898), rshm::nothrow);
    CHECK(!missing && missing.status() == RSHM_ERR_NOT_FOUND);
    CHECK(missing.error().errno_value() == ENOENT && contains(missing.error().message(), "0x52534898"));
    CHECK(thrown([&] { (void)missing.value(); }) == RSHM_ERR_NOT_FOUND);

    auto opened = rshm::segment::open(private_segment(64), std::nothrow);
    CHECK(opened.ok() && opened.status() == RSHM_OK && opened.error().errno_value() == 0);
    rshm::segment seg = std::move(opened).value();
    CHECK(seg.write_str(0, "hi", rshm::nothrow).ok());
    auto text = seg.read_str(0, rshm::nothrow);
    CHECK(text && *text == "hi" && text->size() == 2);
    auto past = seg.write(60, "12345678", 8, rshm::nothrow);
    CHECK(!past && past.status() == RSHM_ERR_OUT_OF_BOUNDS && past.error().errno_value() == ERANGE);
    CHECK(thrown([&] { past.value(); }) == RSHM_ERR_OUT_OF_BOUNDS);
    CHECK(seg.write_value(8, 7u, rshm::nothrow).ok());
    auto seven = seg.read_value<unsigned>(8, rshm::nothrow);
    CHECK(seven && *seven == 7u);
    CHECK(seg.read_value<unsigned>(62, rshm::nothrow).status() == RSHM_ERR_OUT_OF_BOUNDS);
    auto now = seg.stat(rshm::nothrow);
    CHECK(now && now->size == 64);
    CHECK(seg.set_mode(0600, rshm::nothrow).ok() && seg.set_mode(0777777, rshm::nothrow).status() == RSHM_ERR_INVALID_ARGUMENT);
    char out[2];
    CHECK(seg.read(0, out, 2, rshm::nothrow).ok() && out[0] == 'h');
    CHECK(seg.remove(rshm::nothrow).ok());
}

void timeouts() {
    using rshm::detail::timeout_ms;
    CHECK(timeout_ms(0ms) == 0 && timeout_ms(-5s) == 0);
    CHECK(timeout_ms(1ns) == 1 && timeout_ms(1us) == 1 && timeout_ms(1500us) == 2);
    CHECK(timeout_ms(2ms) == 2 && timeout_ms(3s) == 3000 && timeout_ms(std::chrono::minutes(2)) == 120000);
    CHECK(timeout_ms(std::chrono::duration<double>(0.0005)) == 1);
    CHECK(timeout_ms(std::chrono::duration<double>(std::nan(""))) == 0);
    CHECK(timeout_ms(std::chrono::hours::max()) == -1 && timeout_ms(std::chrono::nanoseconds::max()) > 0);
}

void semaphores() {
    const auto opts = rshm::options().key(0x52534820);
    auto sem = rshm::semaphore::open(rshm::options(opts).create().exclusive(), 1);
    CHECK(sem.value() == 1 && sem.waiters() == 0);
    CHECK(sem.try_wait());
    CHECK(sem.value() == 0);
    CHECK(!sem.try_wait());
    auto start = steady_clock::now();
    CHECK(!sem.try_wait_for(30ms));
    CHECK(elapsed_ms(start) >= 30);
    sem.post();
    CHECK(sem.value() == 1);
    sem.wait();
    CHECK(sem.value() == 0);

    CHECK(sem.try_wait(rshm::nothrow).status() == RSHM_ERR_WOULD_BLOCK);
    CHECK(sem.try_wait_for(5ms, rshm::nothrow).status() == RSHM_ERR_TIMEOUT);
    CHECK(sem.try_wait_for(-1s, rshm::nothrow).status() == RSHM_ERR_WOULD_BLOCK);
    CHECK(sem.post(rshm::nothrow).ok());
    CHECK(sem.value(rshm::nothrow).value() == 1 && sem.waiters(rshm::nothrow).value() == 0);
    CHECK(sem.try_wait(rshm::nothrow).ok());

    // Another process waits: waiters() sees it, and a post wakes it.
    auto other = rshm::semaphore::open(opts, rshm::nothrow);
    CHECK(other.ok());
    const pid_t child = fork();
    if (child == 0) {
        auto mine = rshm::semaphore::open(opts, rshm::nothrow);
        _exit(mine && mine->try_wait_for(5s, rshm::nothrow).ok() ? 0 : 1);
    }
    start = steady_clock::now();
    while (sem.waiters() == 0 && elapsed_ms(start) < 5000) std::this_thread::sleep_for(1ms);
    CHECK(sem.waiters() == 1);
    sem.post();
    sem.post();
    CHECK(child_ok(child));

    CHECK(thrown([&] { (void)rshm::semaphore::open(rshm::options(opts).create().exclusive()); }) == RSHM_ERR_EXISTS);
    rshm::semaphore moved = std::move(sem);
    CHECK(!sem && moved);
    CHECK(thrown([&] { sem.post(); }) == RSHM_ERR_NULL_POINTER);
    moved.remove();
    CHECK(thrown([&] { (void)moved.value(); }) != RSHM_OK);
    CHECK(thrown([&] { (void)rshm::semaphore::open(opts); }) == RSHM_ERR_NOT_FOUND);
}

void mutexes() {
    const auto opts = rshm::options().key(0x52534830).size(4096);
    auto seg = rshm::segment::open(rshm::options(opts).create().exclusive().remove_on_close());
    const rshm::mutex m = rshm::mutex::init(seg, 0);
    CHECK(m.offset() == 0 && m.segment_handle() == seg.handle());
    {
        auto guard = m.lock();
        CHECK(guard.owns_lock() && guard && !guard.owner_died());
        bool other_got = true, other_timed_got = true;
        long waited = 0;
        std::thread other([&] {
            rshm::mutex same(seg, 0);
            other_got = same.try_lock().owns_lock();
            const auto start = steady_clock::now();
            other_timed_got = static_cast<bool>(same.try_lock_for(30ms));
            waited = elapsed_ms(start);
        });
        other.join();
        CHECK(!other_got && !other_timed_got && waited >= 30);
        CHECK(thrown([&] { (void)rshm::mutex(seg, 0).lock(); }) == RSHM_ERR_INVALID_ARGUMENT);  // held by this thread
    }
    {
        auto guard = m.try_lock();  // the guard above unlocked
        CHECK(guard);
        rshm::lock_guard moved = std::move(guard);
        CHECK(!guard && moved);
        moved.unlock();
        CHECK(!moved && moved.unlock(rshm::nothrow).status() == RSHM_ERR_PERMISSION);
    }
    {
        auto locked = rshm::mutex(seg, 0).lock(rshm::nothrow);
        CHECK(locked && locked->owns_lock());
        rshm_status from_other = RSHM_OK;
        std::thread other([&] { from_other = rshm::mutex(seg, 0).try_lock(rshm::nothrow).status(); });
        other.join();
        CHECK(from_other == RSHM_ERR_WOULD_BLOCK);
        rshm_status timed = RSHM_OK;
        std::thread timed_other([&] { timed = rshm::mutex(seg, 0).try_lock_for(5ms, rshm::nothrow).status(); });
        timed_other.join();
        CHECK(timed == RSHM_ERR_TIMEOUT);
    }
    CHECK(thrown([&] { (void)rshm::mutex::init(seg, 3); }) == RSHM_ERR_INVALID_ARGUMENT);
    CHECK(thrown([&] { (void)rshm::mutex(seg, 4088).lock(); }) == RSHM_ERR_OUT_OF_BOUNDS);
    CHECK(thrown([&] { (void)rshm::mutex(seg, 512).lock(); }) == RSHM_ERR_CORRUPT);  // never initialised
    CHECK(!rshm::mutex::init(seg, 3, rshm::nothrow) && rshm::mutex::init(seg, 2048, rshm::nothrow));

    // A holder that dies: the next guard says owner_died(); repair, consistent(), and the
    // mutex is as good as new.
    auto die_holding = [&](std::size_t offset) {
        const pid_t child = fork();
        if (child == 0) {
            auto own = rshm::segment::open(opts, rshm::nothrow);
            if (!own) _exit(1);
            auto held = rshm::mutex(*own, offset).lock(rshm::nothrow);
            if (!held || !own->write_str(offset + 64, "half", rshm::nothrow)) _exit(1);
            _exit(0);  // dies holding it: no destructor runs
        }
        return child_ok(child);
    };
    CHECK(die_holding(0));
    {
        auto guard = m.try_lock_for(5s);
        CHECK(guard && guard.owner_died());
        CHECK(seg.read_str(64) == "half");
        seg.write_str(64, "repaired");
        guard.consistent();
        CHECK(guard && !guard.owner_died());
    }
    {
        auto guard = m.lock();
        CHECK(!guard.owner_died() && seg.read_str(64) == "repaired");
    }
    // Not repaired: the guard unlocks without consistent(), and the mutex is lost for good.
    const rshm::mutex lost = rshm::mutex::init(seg, 256);
    CHECK(die_holding(256));
    {
        auto guard = lost.lock(rshm::nothrow);
        CHECK(guard && guard->owner_died());
    }
    CHECK(thrown([&] { (void)lost.lock(); }) == RSHM_ERR_NOT_RECOVERABLE);
    CHECK(lost.try_lock(rshm::nothrow).status() == RSHM_ERR_NOT_RECOVERABLE);
    // The same with the throwing forms and an exception during the repair.
    const rshm::mutex thrown_away = rshm::mutex::init(seg, 1024);
    CHECK(die_holding(1024));
    try {
        auto guard = thrown_away.lock();
        CHECK(guard.owner_died());
        seg.write(4090, "too long", 8);  // the repair fails: the guard unlocks unrepaired
    } catch (const rshm::error &e) {
        CHECK(e.status() == RSHM_ERR_OUT_OF_BOUNDS);
    }
    CHECK(thrown([&] { (void)thrown_away.try_lock_for(10ms); }) == RSHM_ERR_NOT_RECOVERABLE);
}

void channels() {
    const auto opts = rshm::options().key(0x52534840);
    auto rx = rshm::channel::create(rshm::options(opts).remove_on_close(), 256, rshm::role::receiver);
    auto tx = rshm::channel::open(opts, rshm::role::sender);
    CHECK(rx.capacity() >= 256 && tx.capacity() == rx.capacity());
    CHECK(thrown([&] { (void)rshm::channel::open(opts, rshm::role::receiver); }) == RSHM_ERR_EXISTS);

    tx.send("hello");
    tx.send("abc", 3);
    CHECK(tx.try_send(std::string("x")));
    CHECK(tx.try_send_for("for", 3, 10ms));
    tx.send(std::string_view());  // empty, with a NULL data(): an empty message
    char buf[64];
    auto n = rx.recv(buf, sizeof buf);
    CHECK(n && *n == 5 && std::memcmp(buf, "hello", 5) == 0);
    n = rx.recv(buf, sizeof buf);
    CHECK(n && *n == 3 && std::memcmp(buf, "abc", 3) == 0);
    n = rx.try_recv(buf, sizeof buf);
    CHECK(n && *n == 1 && buf[0] == 'x');
    n = rx.try_recv_for(buf, sizeof buf, 10ms);
    CHECK(n && *n == 3);
    n = rx.recv(buf, sizeof buf);
    CHECK(n && *n == 0);

    // Nothing there: empty, and not closed.
    CHECK(!rx.try_recv(buf, sizeof buf) && !rx.closed());
    auto start = steady_clock::now();
    CHECK(!rx.try_recv_for(buf, sizeof buf, 30ms) && !rx.closed());
    CHECK(elapsed_ms(start) >= 30);
    CHECK(rx.try_recv(buf, sizeof buf, rshm::nothrow).status() == RSHM_ERR_WOULD_BLOCK);
    CHECK(rx.try_recv_for(buf, sizeof buf, 5ms, rshm::nothrow).status() == RSHM_ERR_TIMEOUT);

    // Too long for the buffer: it stays, and pending_size() says how long it is.
    tx.send(std::string(100, 'a'));
    CHECK(thrown([&] { (void)rx.recv(buf, 10); }) == RSHM_ERR_OUT_OF_BOUNDS);
    CHECK(rx.pending_size() == 100);
    CHECK(rx.try_recv(buf, 10, rshm::nothrow).status() == RSHM_ERR_OUT_OF_BOUNDS && rx.pending_size() == 100);
    std::vector<char> big(rx.pending_size());
    n = rx.recv(big.data(), big.size());
    CHECK(n && *n == 100 && big[99] == 'a' && rx.pending_size() == 0);

    // A full ring: try_send is false, try_send_for too after its time, nothrow says why.
    const std::string chunk(100, 'b');
    int sent = 0;
    while (sent < 100 && tx.try_send(chunk)) ++sent;
    CHECK(sent >= 1 && sent < 100);
    CHECK(!tx.try_send_for(chunk, 10ms));
    CHECK(tx.try_send(chunk, rshm::nothrow).status() == RSHM_ERR_WOULD_BLOCK);
    CHECK(tx.try_send_for(chunk.data(), chunk.size(), 5ms, rshm::nothrow).status() == RSHM_ERR_TIMEOUT);
    const std::vector<char> too_big(rx.capacity());  // longer than capacity - 8: never fits
    CHECK(tx.send(too_big.data(), too_big.size(), rshm::nothrow).status() == RSHM_ERR_INVALID_ARGUMENT);
    for (int i = 0; i < sent; ++i) CHECK(rx.recv(big.data(), big.size()).value_or(0) == 100);

#if RSHM_HPP_SPAN
    const std::uint32_t words[2] = {0xdeadbeef, 7};
    tx.send(std::as_bytes(std::span(words)));
    CHECK(tx.try_send(std::as_bytes(std::span(words))));
    CHECK(tx.try_send_for(std::as_bytes(std::span(words)), 5ms));
    std::uint32_t got[2] = {};
    n = rx.recv(std::as_writable_bytes(std::span(got)));
    CHECK(n && *n == sizeof words && got[0] == 0xdeadbeef && got[1] == 7);
    CHECK(rx.try_recv(std::as_writable_bytes(std::span(got))).has_value());
    CHECK(rx.try_recv_for(std::as_writable_bytes(std::span(got)), 5ms).has_value());
    // An empty span (NULL data()) is a buffer of 0 bytes.
    CHECK(rx.try_recv(std::span<std::byte>(), rshm::nothrow).status() == RSHM_ERR_WOULD_BLOCK);
    tx.send("y");
    CHECK(rx.try_recv(std::span<std::byte>(), rshm::nothrow).status() == RSHM_ERR_OUT_OF_BOUNDS);
    CHECK(rx.pending_size() == 1 && rx.recv(buf, sizeof buf).value_or(0) == 1);
#endif

    // The sender closes: what was sent is read, then the receiver learns it is closed.
    tx.send("last");
    tx.close();
    n = rx.recv(buf, sizeof buf);
    CHECK(n && *n == 4);
    CHECK(!rx.recv(buf, sizeof buf) && rx.closed());
    CHECK(!rx.try_recv(buf, sizeof buf) && rx.closed());
    CHECK(rx.recv(buf, sizeof buf, rshm::nothrow).status() == RSHM_ERR_CLOSED);

    // The receiver closes: the sender's calls throw, try_send included.
    auto rx2 = rshm::channel::create(rshm::options().key(0x52534841).remove_on_close(), 64, rshm::role::receiver);
    auto tx2 = rshm::channel::open(rshm::options().key(0x52534841), rshm::role::sender);
    rx2.close();
    CHECK(thrown([&] { tx2.send("x"); }) == RSHM_ERR_CLOSED);
    CHECK(thrown([&] { (void)tx2.try_send("x"); }) == RSHM_ERR_CLOSED);
    CHECK(tx2.send("x", rshm::nothrow).status() == RSHM_ERR_CLOSED);

    rshm::channel moved = std::move(tx2);
    CHECK(!tx2 && moved);
    CHECK(thrown([&] { tx2.send("x"); }) == RSHM_ERR_NULL_POINTER);
}

void channels_between_processes() {
    const auto opts = rshm::options().key(0x52534850);
    auto rx = rshm::channel::create(rshm::options(opts).remove_on_close(), 4096, rshm::role::receiver);
    pid_t child = fork();
    if (child == 0) {
        auto tx = rshm::channel::open(opts, rshm::role::sender, rshm::nothrow);
        if (!tx) _exit(1);
        for (int i = 0; i < 1000; ++i) {
            const std::string message = "message " + std::to_string(i);
            if (!tx->send(message, rshm::nothrow)) _exit(1);
        }
        tx->close();
        _exit(0);
    }
    char buf[64];
    int count = 0;
    bool in_order = true;
    while (auto n = rx.try_recv_for(buf, sizeof buf, 5s)) {
        in_order = in_order && std::string(buf, *n) == "message " + std::to_string(count);
        ++count;
    }
    CHECK(rx.closed() && count == 1000 && in_order);
    CHECK(child_ok(child));

    // A sender that dies without closing: the receiver reads what it sent, then an error.
    const auto died = rshm::options().key(0x52534851);
    auto rx2 = rshm::channel::create(rshm::options(died).remove_on_close(), 256, rshm::role::receiver);
    child = fork();
    if (child == 0) {
        auto tx = rshm::channel::open(died, rshm::role::sender, rshm::nothrow);
        _exit(tx && tx->send("before dying", rshm::nothrow) ? 0 : 1);
    }
    CHECK(child_ok(child));
    auto n = rx2.try_recv_for(buf, sizeof buf, 5s);
    CHECK(n && std::string(buf, *n) == "before dying");
    CHECK(thrown([&] { (void)rx2.try_recv_for(buf, sizeof buf, 5s); }) == RSHM_ERR_PEER_DIED);
    CHECK(!rx2.closed());

    // remove(): the key is free, though both ends may still be open.
    auto rx3 = rshm::channel::create(rshm::options().key(0x52534852), 64, rshm::role::receiver);
    rx3.remove();
    CHECK(thrown([&] { (void)rshm::channel::open(rshm::options().key(0x52534852), rshm::role::sender); }) ==
          RSHM_ERR_NOT_FOUND);
}

template <class F>
void run(const char *name, F test) {
    try {
        test();
    } catch (const std::exception &e) {
        ++failed;
        std::fprintf(stderr, "FAIL %s: unexpected exception: %s\n", name, e.what());
    }
}

// Zero-copy: a message written in place and committed, read in place and released; guards
// that give back what they hold when they go, and the C calls' statuses for misuse.
void zero_copy() {
    const auto opts = rshm::options().key(0x52534850);
    auto rx = rshm::channel::create(rshm::options(opts).remove_on_close(), 1024, rshm::role::receiver);
    auto tx = rshm::channel::open(opts, rshm::role::sender);
    CHECK(tx.max_reservation() == 504);

    {
        auto room = tx.reserve(11);
        CHECK(room && room.size() == 11 && room.data() != nullptr);
        std::memcpy(room.data(), "in place!!!", 11);
        room.commit(8);  // fewer bytes than reserved
        CHECK(!room);
    }
    {
        auto lent = rx.peek();
        CHECK(lent && lent.size() == 8 && lent.view() == "in place");
        CHECK(rx.try_peek(rshm::nothrow).status() == RSHM_ERR_INVALID_ARGUMENT);  // one at a time
    }  // released
    CHECK(!rx.try_peek() && !rx.closed());

    // A reservation dropped (or cancelled) uncommitted never shows; the channel sends on.
    { auto room = tx.reserve(32); std::memset(room.data(), 0xEE, 32); }
    CHECK(!rx.try_peek());
    auto again = tx.reserve(4);
    again.cancel();
    CHECK(!again && !rx.try_peek());
    tx.send("after");
    char buf[16];
    CHECK(rx.recv(buf, sizeof buf).value_or(0) == 5);

    // Committing more than reserved is refused and keeps the reservation.
    auto room = tx.reserve(4);
    CHECK(thrown([&] { room.commit(5); }) == RSHM_ERR_INVALID_ARGUMENT && room);
    CHECK(room.commit(6, rshm::nothrow).status() == RSHM_ERR_INVALID_ARGUMENT && room);
    CHECK(thrown([&] { tx.send("x"); }) == RSHM_ERR_INVALID_ARGUMENT);  // a reservation is open
    std::memcpy(room.data(), "four", 4);
    room.commit();
    // Guards move; the moved-from one holds nothing.
    auto lent = rx.peek();
    rshm::lent_message moved = std::move(lent);
    CHECK(!lent && moved && moved.view() == "four");
    moved.release();
    CHECK(!moved);

    // Too large for one piece: refused, naming the limit.
    std::string why;
    CHECK(thrown([&] { (void)tx.reserve(505); }, &why) == RSHM_ERR_INVALID_ARGUMENT);
    CHECK(contains(why, "504"));
    // A full ring: try_reserve gives an empty guard, the nothrow form says why.
    int reserved = 0;
    for (; reserved < 100; ++reserved) {
        auto r = tx.try_reserve(400);
        if (!r) break;
        r.commit();
    }
    CHECK(reserved >= 1 && reserved < 100);
    CHECK(!tx.try_reserve_for(400, 5ms));
    CHECK(tx.try_reserve(400, rshm::nothrow).status() == RSHM_ERR_WOULD_BLOCK);
    for (int i = 0; i < reserved; ++i) CHECK(rx.peek().size() == 400);

#if RSHM_HPP_SPAN
    auto bytes_room = tx.reserve(3);
    bytes_room.bytes()[0] = std::byte{1};
    bytes_room.bytes()[2] = std::byte{3};
    bytes_room.commit();
    auto got = rx.try_peek_for(10ms);
    CHECK(got && got.bytes().size() == 3 && got.bytes()[2] == std::byte{3});
    got.release();
#endif

    // The receiving end cannot reserve; the sending end cannot peek.
    CHECK(rx.reserve(8, rshm::nothrow).status() == RSHM_ERR_INVALID_ARGUMENT);
    CHECK(tx.peek(rshm::nothrow).status() == RSHM_ERR_INVALID_ARGUMENT);
    // The sender closes with a reservation open (made through the C call: a guard must not
    // outlive its channel): nothing shows, the receiver sees the close.
    void *open = nullptr;
    CHECK(rshm_channel_reserve(tx.handle(), 16, &open, 0) == RSHM_OK && open != nullptr);
    tx.close();
    CHECK(!rx.peek() && rx.closed());
}

}  // namespace

void queues() {
    const auto opts = rshm::options().key(0x52534821);
    auto q = rshm::queue::open(rshm::options(opts).create().exclusive());
    q.send(3, "three", 5);
    CHECK(q.send(1, "one", 3, rshm::nothrow).ok());
    CHECK(q.send(0, "zero", 4, rshm::nothrow).status() == RSHM_ERR_INVALID_ARGUMENT);
    char buf[16] = {};
    auto got = q.recv(-2, buf, sizeof buf); // the lowest type up to 2
    CHECK(got.len == 3 && got.type == 1 && std::memcmp(buf, "one", 3) == 0);
    CHECK(q.try_recv(0, buf, 2, rshm::nothrow).status() == RSHM_ERR_OUT_OF_BOUNDS); // stays in the queue
    auto three = q.try_recv(3, buf, sizeof buf, rshm::nothrow);
    CHECK(three.ok() && three->len == 5 && three->type == 3);
    CHECK(q.try_recv(0, buf, sizeof buf, rshm::nothrow).status() == RSHM_ERR_WOULD_BLOCK);
    const auto start = steady_clock::now();
    CHECK(q.recv_for(0, buf, sizeof buf, 20ms, rshm::nothrow).status() == RSHM_ERR_TIMEOUT);
    CHECK(elapsed_ms(start) >= 20);
    CHECK(thrown([&] { (void)rshm::queue::open(rshm::options(opts).size(4096)); }) == RSHM_ERR_INVALID_ARGUMENT);
    rshm::queue moved = std::move(q);
    CHECK(!q && moved);
    moved.remove();
    CHECK(thrown([&] { (void)rshm::queue::open(opts); }) == RSHM_ERR_NOT_FOUND);
}

void many_party_channels() {
    // Many senders: two sender ends (one slot each), one receiver; every message, each sender's in order.
    const auto many = rshm::options().key(0x52534850);
    auto rx = rshm::channel::create(rshm::options(many).remove_on_close().many_senders().max_peers(2), 1024,
                                    rshm::role::receiver);
    auto a = rshm::channel::open(many, rshm::role::sender);
    auto b = rshm::channel::open(rshm::options(many).many_senders(), rshm::role::sender);
    CHECK(thrown([&] { (void)rshm::channel::open(many, rshm::role::sender); }) == RSHM_ERR_NO_SPACE);
    CHECK(thrown([&] { (void)rshm::channel::open(rshm::options(many).broadcast(), rshm::role::sender); }) ==
          RSHM_ERR_INVALID_ARGUMENT);
    a.send("a1");
    b.send("b1");
    a.send("a2");
    char buf[64];
    std::string got;
    for (int i = 0; i < 3; i++) {
        auto n = rx.recv(buf, sizeof buf);
        CHECK(n && *n == 2);
        got += std::string(buf, 2);
    }
    CHECK(got.find("a1") < got.find("a2") && got.find("b1") != std::string::npos);
    a.close();
    b.close();
    CHECK(!rx.try_recv_for(buf, sizeof buf, 1s) && rx.closed());

    // Broadcast: the plain forms step past a lap to the oldest message; nothrow forms say LAGGED.
    const auto cast = rshm::options().key(0x52534851);
    auto tx = rshm::channel::create(rshm::options(cast).remove_on_close().broadcast(), 1024, rshm::role::sender);
    auto r1 = rshm::channel::open(cast, rshm::role::receiver);
    auto r2 = rshm::channel::open(rshm::options(cast).broadcast(), rshm::role::receiver);
    CHECK(thrown([&] {
              (void)rshm::channel::create(rshm::options().many_senders().broadcast(), 1024, rshm::role::sender);
          }) == RSHM_ERR_INVALID_ARGUMENT);
    char msg[24] = {};
    for (unsigned i = 0; i < 100; i++) {
        msg[0] = static_cast<char>(i);
        tx.send(msg, sizeof msg);
    }
    auto n = r1.recv(buf, sizeof buf);
    CHECK(n && *n == 24 && r1.missed() >= 75 && static_cast<unsigned char>(buf[0]) == r1.missed());
    CHECK(r2.try_recv(buf, sizeof buf, rshm::nothrow).status() == RSHM_ERR_LAGGED);
    CHECK(r2.missed() == r1.missed());
    auto lent = r2.try_peek();
    CHECK(lent && lent.size() == 24);
    for (unsigned i = 100; i < 200; i++) tx.send(msg, sizeof msg);
    CHECK(lent.release(rshm::nothrow).status() == RSHM_ERR_LAGGED);
    CHECK(rx.missed() == 0 && tx.missed() == 0);
}

// The plain receive forms retry past RSHM_ERR_LAGGED within the caller's timeout, not a fresh
// one at each retry. A writer of the segment moves the broadcast head a ring on (offset 64)
// 300 ms into a 500 ms wait: the receiver is lapped, and a retry with a fresh 500 ms would
// end at least 800 ms after the call began.
void lagged_retries_keep_the_callers_timeout() {
    const auto cast = rshm::options().key(0x52534860);
    auto tx = rshm::channel::create(rshm::options(cast).remove_on_close().broadcast(), 1024, rshm::role::sender);
    auto rx = rshm::channel::open(cast, rshm::role::receiver);
    auto segment = rshm::segment::open(cast);
    std::uint64_t head = 0;
    auto lap_in_300ms = [&] {
        head += 1024 + 64;
        return std::thread([&segment, at = head] {
            std::this_thread::sleep_for(300ms);
            segment.write_value<std::uint64_t>(64, at);
        });
    };
    char buf[64];
    auto lap = lap_in_300ms();
    auto start = steady_clock::now();
    CHECK(!rx.try_recv_for(buf, sizeof buf, 500ms));
    const long recv_ms = elapsed_ms(start);
    lap.join();
    CHECK(recv_ms >= 300 && recv_ms < 800);
    CHECK(rx.try_recv(buf, sizeof buf, rshm::nothrow).status() == RSHM_ERR_WOULD_BLOCK); // the lap was seen
    lap = lap_in_300ms();
    start = steady_clock::now();
    CHECK(!rx.try_peek_for(500ms));
    const long peek_ms = elapsed_ms(start);
    lap.join();
    CHECK(peek_ms >= 300 && peek_ms < 800);
    CHECK(rx.try_peek(rshm::nothrow).status() == RSHM_ERR_WOULD_BLOCK);
    if (recv_ms >= 800 || peek_ms >= 800) std::fprintf(stderr, "recv took %ld ms, peek %ld ms\n", recv_ms, peek_ms);
    (void)tx;
}

int main() {
    run("options_builder", options_builder);
    run("segment_access", segment_access);
    run("segment_by_key_path_and_id", segment_by_key_path_and_id);
    run("segment_moves", segment_moves);
    run("nothrow_forms", nothrow_forms);
    run("timeouts", timeouts);
    run("semaphores", semaphores);
    run("queues", queues);
    run("mutexes", mutexes);
    run("channels", channels);
    run("channels_between_processes", channels_between_processes);
    run("zero_copy", zero_copy);
    run("many_party_channels", many_party_channels);
    run("lagged_retries_keep_the_callers_timeout", lagged_retries_keep_the_callers_timeout);
    CHECK(std::strcmp(rshm_version(), RSHM_VERSION) == 0);
#if defined(__SANITIZE_ADDRESS__)
    const char *sanitizers = ", ASan+UBSan";
#else
    const char *sanitizers = "";
#endif
    std::printf("hpp_test (C++%ld%s%s): %d passed, %d failed\n", (__cplusplus / 100) % 100,
                RSHM_HPP_SPAN ? ", spans" : "", sanitizers, passed, failed);
    return failed == 0 ? 0 : 1;
}
