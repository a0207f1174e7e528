// rshm.hpp: the C++17 layer over rshm.h, header-only. Move-only owners for a segment, a
// channel end and a semaphore; a mutex in a segment with a scoped lock guard; errors as
// rshm::error (or, with `rshm::nothrow`, as rshm::result<T> values, for -fno-exceptions).
//
// It adds no symbol to librshm: every call below is an inline call of the C API, so a
// program links with -lrshm (or the CMake target rshm::rshm) exactly as a C program does.
// docs/cpp.md is the guide.
//
// Two forms of every call:
//  - plain: returns the value and throws rshm::error (status, errno, message) on failure.
//    Outcomes that are not failures come back as values: a try_ call or a timeout that
//    found nothing returns false (or an empty optional, or a guard that owns nothing), and
//    a receiver learns that the sender closed the channel from an empty optional.
//  - with a trailing `rshm::nothrow` argument: noexcept (unless it returns an allocated
//    value), returns rshm::result<T>, whose error is exactly the C call's status, including
//    RSHM_ERR_TIMEOUT, RSHM_ERR_WOULD_BLOCK and RSHM_ERR_CLOSED. The one exception is a lock
//    whose previous holder died: that is a success (the lock is held), reported by the
//    guard's owner_died().
// Built without exceptions (-fno-exceptions), or with RSHM_HPP_EXCEPTIONS defined as 0
// first, only the nothrow forms exist.
//
// Timeouts are std::chrono durations, rounded up to whole milliseconds (so 1 us waits 1 ms,
// never "not at all"); a duration of zero or less does not wait, one beyond what a long can
// hold in milliseconds waits forever. Calls without a timeout wait forever.
#ifndef RSHM_HPP
#define RSHM_HPP

#if !defined(__cplusplus) || __cplusplus < 201703L
#error "rshm.hpp needs C++17 or later; C programs include rshm.h"
#endif

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "rshm.h"

// 1 when the throwing forms exist: exceptions are on and the program did not define it as 0.
#ifndef RSHM_HPP_EXCEPTIONS
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#define RSHM_HPP_EXCEPTIONS 1
#else
#define RSHM_HPP_EXCEPTIONS 0
#endif
#endif

// 1 when std::span is there (C++20): reads, writes, sends and receives then take spans too.
#if __cplusplus >= 202002L && defined(__has_include)
#if __has_include(<span>)
#include <span>
#endif
#endif
#if defined(__cpp_lib_span) && __cpp_lib_span >= 202002L
#define RSHM_HPP_SPAN 1
#else
#define RSHM_HPP_SPAN 0
#endif

namespace rshm {

// `rshm::nothrow` (or `std::nothrow`) as the last argument selects a call's non-throwing form.
using std::nothrow;
using std::nothrow_t;

// What the kernel knows of a segment (rshm_info: id, key, size, mode, owners, pids,
// attachments, times, removed, locked).
using info = rshm_info;

// ---- errors ----

// A failed call: its status, the errno it set and rshm_last_error()'s message, copied at
// once (the thread's message is replaced by its next failing call).
class error_info {
public:
    error_info() noexcept = default;
    error_info(rshm_status status, int errno_value, std::string message) noexcept
        : status_(status), errno_(errno_value), message_(std::move(message)) {}

    // The failure the last rshm call on this thread reported with `status`; call it right
    // after that call. Allocation failure leaves the message empty (message() then says the
    // status) rather than throw.
    static error_info last(rshm_status status) noexcept {
        error_info failure;
        failure.errno_ = errno;
        failure.status_ = status;
#if RSHM_HPP_EXCEPTIONS
        try {
            failure.message_ = rshm_last_error();
        } catch (...) {
            failure.message_.clear();
        }
#else
        failure.message_ = rshm_last_error();
#endif
        return failure;
    }

    // RSHM_OK for a success.
    rshm_status status() const noexcept { return status_; }
    // The errno the call set (ERANGE for RSHM_ERR_OUT_OF_BOUNDS, ...), 0 for a success.
    int errno_value() const noexcept { return errno_; }
    // rshm_last_error()'s text, e.g. "write(offset=60, len=21): bytes 60..81 reach past the
    // end of the 64-byte segment 3 (ERANGE)"; the status's name when there is none. Valid
    // while this error_info lives.
    const char *message() const noexcept { return message_.empty() ? rshm_status_str(status_) : message_.c_str(); }
    // The status's name and meaning: "RSHM_ERR_OUT_OF_BOUNDS: ..." (rshm_status_str).
    const char *status_str() const noexcept { return rshm_status_str(status_); }

private:
    rshm_status status_ = RSHM_OK;
    int errno_ = 0;
    std::string message_;
};

// The exception the throwing forms throw: what() is rshm_last_error()'s message.
class error : public std::runtime_error {
public:
    explicit error(const error_info &failure)
        : std::runtime_error(failure.message()), status_(failure.status()),
          errno_(failure.errno_value()) {}

    rshm_status status() const noexcept { return status_; }
    int errno_value() const noexcept { return errno_; }
    // The status's name and meaning: "RSHM_ERR_OUT_OF_BOUNDS: ..." (rshm_status_str).
    const char *status_str() const noexcept { return rshm_status_str(status_); }

private:
    rshm_status status_;
    int errno_;
};

namespace detail {

// value() of a failed result: throws rshm::error, or without exceptions prints the message
// and aborts (as the standard library does for a failed .value() under -fno-exceptions).
[[noreturn]] inline void fail(const error_info &failure) {
#if RSHM_HPP_EXCEPTIONS
    throw error(failure);
#else
    std::fprintf(stderr, "rshm: value() of a failed result: %s\n", failure.message());
    std::abort();
#endif
}

}  // namespace detail

// The outcome of a nothrow call: a T, or the error_info of the failure. Like std::expected
// (C++23): test it with `if (r)` or ok(), then use *r, r->, or value(), which throws (or,
// without exceptions, aborts) when there is no value.
template <class T>
class [[nodiscard]] result {
    static_assert(std::is_default_constructible_v<T>, "rshm::result holds default-constructible values");

public:
    result(T value) noexcept(std::is_nothrow_move_constructible_v<T>) : value_(std::move(value)) {}
    result(error_info failure) noexcept(std::is_nothrow_default_constructible_v<T>) : error_(std::move(failure)) {}

    bool ok() const noexcept { return error_.status() == RSHM_OK; }
    explicit operator bool() const noexcept { return ok(); }
    // RSHM_OK, or the failure's status.
    rshm_status status() const noexcept { return error_.status(); }
    // The failure (status RSHM_OK for a success).
    const error_info &error() const noexcept { return error_; }

    T &value() & {
        check();
        return value_;
    }
    const T &value() const & {
        check();
        return value_;
    }
    T &&value() && {
        check();
        return std::move(value_);
    }
    T &operator*() & { return value(); }
    const T &operator*() const & { return value(); }
    T &&operator*() && { return std::move(*this).value(); }
    T *operator->() { return std::addressof(value()); }
    const T *operator->() const { return std::addressof(value()); }

private:
    void check() const {
        if (!ok()) detail::fail(error_);
    }
    T value_{};
    error_info error_;
};

// The outcome of a nothrow call that returns nothing: `if (!r) ... r.error()`.
template <>
class [[nodiscard]] result<void> {
public:
    result() noexcept = default;
    result(error_info failure) noexcept : error_(std::move(failure)) {}

    bool ok() const noexcept { return error_.status() == RSHM_OK; }
    explicit operator bool() const noexcept { return ok(); }
    rshm_status status() const noexcept { return error_.status(); }
    const error_info &error() const noexcept { return error_; }
    // Throws (or aborts) when the call failed.
    void value() const {
        if (!ok()) detail::fail(error_);
    }

private:
    error_info error_;
};

namespace detail {

inline result<void> status(rshm_status st) noexcept {
    if (st == RSHM_OK) return {};
    return error_info::last(st);
}

#if RSHM_HPP_EXCEPTIONS
[[noreturn]] inline void throw_last(rshm_status st) { throw error(error_info::last(st)); }

inline void check(rshm_status st) {
    if (st != RSHM_OK) throw_last(st);
}
#endif

// rshm refuses a NULL buffer even for 0 bytes; an empty C++ view may have a NULL data().
inline const void *nonnull(const void *p) noexcept {
    static const unsigned char none = 0;
    return p != nullptr ? p : &none;
}
inline void *nonnull(void *p) noexcept {
    static unsigned char none;
    return p != nullptr ? p : &none;
}

// A duration as the C API's timeout_ms: rounded up to whole milliseconds; 0 (do not wait)
// for zero or less; -1 (forever) when it does not fit a long.
template <class Rep, class Period>
long timeout_ms(const std::chrono::duration<Rep, Period> &timeout) noexcept {
    const double ms = std::chrono::duration<double, std::milli>(timeout).count();
    if (!(ms > 0)) return 0;
    if (ms >= static_cast<double>(LONG_MAX)) return -1;
    long whole = static_cast<long>(ms);
    if (static_cast<double>(whole) < ms) ++whole;
    return whole;
}

// What is left of a timeout given as timeout_ms, for a call that retries: every retry gets
// the time left (0 once it is past), so that the call never outlasts the caller's timeout.
// 0 and -1 (forever) stay as they are, and so does a timeout too long for the clock.
class time_left {
public:
    explicit time_left(long ms) noexcept
        : ms_(ms), deadline_(std::chrono::steady_clock::now() + std::chrono::milliseconds(tracked(ms) ? ms : 0)) {}
    long ms() const noexcept {
        if (!tracked(ms_)) return ms_;
        const auto left = deadline_ - std::chrono::steady_clock::now();
        return left > left.zero() ? timeout_ms(left) : 0;
    }

private:
    // Up to about 95 years: well within the steady clock's range.
    static bool tracked(long ms) noexcept { return ms > 0 && static_cast<long long>(ms) <= 3000000000000LL; }
    long ms_;
    std::chrono::steady_clock::time_point deadline_;
};

}  // namespace detail

// ---- what to open ----

// rshm_options as a builder: starts as RSHM_OPTIONS_INIT (IPC_PRIVATE, mode 0600, no flags)
// and keeps its own copy of the path. Of key(), path() and id(), the last one called says
// which segment. A C struct converts to it, so every call that takes options takes an
// rshm_options too.
//   rshm::options().path("app.key", 'A').size(4096).create().verify_owner()
class options {
public:
    options() noexcept = default;
    options(const rshm_options &c) : raw_(c) {
        raw_.struct_size = sizeof(rshm_options);
        if (c.path != nullptr) {
            path_ = c.path;
            has_path_ = true;
        }
        raw_.path = nullptr;
    }

    // The key (IPC_PRIVATE, 0, for a new private segment, which needs create()).
    options &key(key_t key) noexcept {
        raw_.key = key;
        has_path_ = false;
        raw_.flags &= ~static_cast<unsigned>(RSHM_BY_ID);
        return *this;
    }
    // The key is ftok(file, proj_id): the file must exist, proj_id's low 8 bits not be 0.
    options &path(std::string file, int proj_id) {
        path_ = std::move(file);
        has_path_ = true;
        raw_.proj_id = proj_id;
        raw_.flags &= ~static_cast<unsigned>(RSHM_BY_ID);
        return *this;
    }
    // The existing segment with this id (as shmget or ipcs gave it): RSHM_BY_ID.
    options &id(int shmid) noexcept {
        raw_.id = shmid;
        has_path_ = false;
        raw_.flags |= static_cast<unsigned>(RSHM_BY_ID);
        return *this;
    }
    // Required to create; when opening, the least the segment must hold (0: any size).
    options &size(std::size_t bytes) noexcept {
        raw_.size = bytes;
        return *this;
    }
    // Permission bits of a new segment (0: 0600).
    options &mode(unsigned int bits) noexcept {
        raw_.mode = bits;
        return *this;
    }
    // All flags at once, replacing those set before (RSHM_CREATE | ...).
    options &flags(unsigned int bits) noexcept {
        raw_.flags = bits;
        return *this;
    }
    options &create(bool on = true) noexcept { return flag(RSHM_CREATE, on); }
    options &exclusive(bool on = true) noexcept { return flag(RSHM_EXCLUSIVE, on); }
    options &read_only(bool on = true) noexcept { return flag(RSHM_READ_ONLY, on); }
    options &remove_on_close(bool on = true) noexcept { return flag(RSHM_REMOVE_ON_CLOSE, on); }
    options &verify_owner(bool on = true) noexcept { return flag(RSHM_VERIFY_OWNER, on); }
    options &huge_pages(bool on = true) noexcept { return flag(RSHM_HUGE_PAGES, on); }
    // Populates the pages at open (RSHM_PREFAULT), so that first touches cost nothing later.
    options &prefault(bool on = true) noexcept { return flag(RSHM_PREFAULT, on); }
    // channel::create: up to max_peers senders, one receiver (channel::open: expect that shape).
    options &many_senders(bool on = true) noexcept { return flag(RSHM_CHANNEL_MANY_SENDERS, on); }
    // channel::create: one sender, up to max_peers receivers (channel::open: expect that shape).
    options &broadcast(bool on = true) noexcept { return flag(RSHM_CHANNEL_BROADCAST, on); }
    // channel::create of a many-party channel: its most senders or receivers (0: 64).
    options &max_peers(unsigned int peers) noexcept {
        raw_.max_peers = peers;
        return *this;
    }

    // The C struct; its path points into this object (valid while it lives unchanged).
    rshm_options c_options() const noexcept {
        rshm_options c = raw_;
        c.path = has_path_ ? path_.c_str() : nullptr;
        return c;
    }

private:
    options &flag(unsigned int bit, bool on) noexcept {
        raw_.flags = on ? (raw_.flags | bit) : (raw_.flags & ~bit);
        return *this;
    }
    rshm_options raw_ = RSHM_OPTIONS_INIT;
    std::string path_;
    bool has_path_ = false;
};

// ---- segments ----

// An open, attached segment (rshm_segment): closes (detaches; with remove_on_close, also
// removes) when destroyed. Move-only; a moved-from or default segment holds nothing, and
// calls on it fail with RSHM_ERR_NULL_POINTER. Several threads may use one at once.
class segment {
public:
    segment() noexcept = default;
    // Takes ownership of a handle from rshm_open.
    explicit segment(rshm_segment *adopted) noexcept : handle_(adopted) {}
    segment(segment &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    segment &operator=(segment &&other) noexcept {
        if (this != &other) {
            close();
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }
    segment(const segment &) = delete;
    segment &operator=(const segment &) = delete;
    ~segment() { close(); }

    // Opens (or, with create(), creates) and attaches the segment `opts` names.
#if RSHM_HPP_EXCEPTIONS
    [[nodiscard]] static segment open(const options &opts) { return open(opts, nothrow).value(); }
#endif
    [[nodiscard]] static result<segment> open(const options &opts, nothrow_t) noexcept {
        const rshm_options c = opts.c_options();
        rshm_segment *seg = nullptr;
        const rshm_status st = rshm_open(&c, &seg);
        if (st != RSHM_OK) return error_info::last(st);
        return segment(seg);
    }

    // Closes now (rshm_close); the segment then holds nothing. Nothing held: no-op.
    void close() noexcept { rshm_close(std::exchange(handle_, nullptr)); }
    // Gives the handle up, to close with rshm_close.
    rshm_segment *release() noexcept { return std::exchange(handle_, nullptr); }
    rshm_segment *handle() const noexcept { return handle_; }
    bool is_open() const noexcept { return handle_ != nullptr; }
    explicit operator bool() const noexcept { return is_open(); }

    int id() const noexcept { return rshm_id(handle_); }
    key_t key() const noexcept { return rshm_key(handle_); }
    std::size_t size() const noexcept { return rshm_size(handle_); }
    // The first byte: direct, unchecked access (prefer read and write).
    void *data() const noexcept { return rshm_data(handle_); }
#if RSHM_HPP_SPAN
    std::span<std::byte> bytes() const noexcept { return {static_cast<std::byte *>(data()), size()}; }
#endif

    // Copies len bytes in at offset: the range must lie inside the segment.
#if RSHM_HPP_EXCEPTIONS
    void write(std::size_t offset, const void *src, std::size_t len) {
        detail::check(rshm_write(handle_, offset, src, len));
    }
#endif
    result<void> write(std::size_t offset, const void *src, std::size_t len, nothrow_t) noexcept {
        return detail::status(rshm_write(handle_, offset, src, len));
    }
    // Copies len bytes out, from offset.
#if RSHM_HPP_EXCEPTIONS
    void read(std::size_t offset, void *dst, std::size_t len) const {
        detail::check(rshm_read(handle_, offset, dst, len));
    }
#endif
    result<void> read(std::size_t offset, void *dst, std::size_t len, nothrow_t) const noexcept {
        return detail::status(rshm_read(handle_, offset, dst, len));
    }
#if RSHM_HPP_SPAN
#if RSHM_HPP_EXCEPTIONS
    void write(std::size_t offset, std::span<const std::byte> src) {
        write(offset, detail::nonnull(src.data()), src.size());
    }
    void read(std::size_t offset, std::span<std::byte> dst) const { read(offset, detail::nonnull(dst.data()), dst.size()); }
#endif
    result<void> write(std::size_t offset, std::span<const std::byte> src, nothrow_t) noexcept {
        return write(offset, detail::nonnull(src.data()), src.size(), nothrow);
    }
    result<void> read(std::size_t offset, std::span<std::byte> dst, nothrow_t) const noexcept {
        return read(offset, detail::nonnull(dst.data()), dst.size(), nothrow);
    }
#endif

    // A trivially copyable value, copied in or out byte for byte (no alignment needed).
#if RSHM_HPP_EXCEPTIONS
    template <class T>
    void write_value(std::size_t offset, const T &value) {
        static_assert(std::is_trivially_copyable_v<T>, "write_value copies bytes: T must be trivially copyable");
        write(offset, std::addressof(value), sizeof(T));
    }
    template <class T>
    T read_value(std::size_t offset) const {
        static_assert(std::is_trivially_copyable_v<T>, "read_value copies bytes: T must be trivially copyable");
        T value{};
        read(offset, std::addressof(value), sizeof(T));
        return value;
    }
#endif
    template <class T>
    result<void> write_value(std::size_t offset, const T &value, nothrow_t) noexcept {
        static_assert(std::is_trivially_copyable_v<T>, "write_value copies bytes: T must be trivially copyable");
        return write(offset, std::addressof(value), sizeof(T), nothrow);
    }
    template <class T>
    result<T> read_value(std::size_t offset, nothrow_t) const noexcept {
        static_assert(std::is_trivially_copyable_v<T>, "read_value copies bytes: T must be trivially copyable");
        T value{};
        const rshm_status st = rshm_read(handle_, offset, std::addressof(value), sizeof(T));
        if (st != RSHM_OK) return error_info::last(st);
        return value;
    }

    // Writes the string and its NUL at offset (up to its first NUL, as C sees it).
#if RSHM_HPP_EXCEPTIONS
    void write_str(std::size_t offset, const char *s) { detail::check(rshm_write_str(handle_, offset, s)); }
    void write_str(std::size_t offset, const std::string &s) { write_str(offset, s.c_str()); }
#endif
    result<void> write_str(std::size_t offset, const char *s, nothrow_t) noexcept {
        return detail::status(rshm_write_str(handle_, offset, s));
    }
    result<void> write_str(std::size_t offset, const std::string &s, nothrow_t) noexcept {
        return write_str(offset, s.c_str(), nothrow);
    }
    // The NUL-terminated string at offset: RSHM_ERR_OUT_OF_BOUNDS when no NUL lies between
    // offset and the end. (It reads into a buffer that grows 4x until the string fits, so a
    // long string may leave an out-of-bounds message in rshm_last_error() on success.)
#if RSHM_HPP_EXCEPTIONS
    std::string read_str(std::size_t offset) const { return read_str(offset, nothrow).value(); }
#endif
    result<std::string> read_str(std::size_t offset, nothrow_t) const {
        const std::size_t total = size();
        // Past the end: one byte, for rshm to report the offset.
        const std::size_t room = offset < total ? total - offset : 1;
        std::size_t cap = room < 256 ? room : 256;
        std::string text;
        for (;;) {
            text.resize(cap);
            const rshm_status st = rshm_read_str(handle_, offset, &text[0], cap);
            if (st == RSHM_OK) {
                text.resize(std::strlen(text.c_str()));
                return text;
            }
            if (st != RSHM_ERR_OUT_OF_BOUNDS || cap == room) return error_info::last(st);
            cap = room / 4 > cap ? cap * 4 : room;
        }
    }

    // What the kernel knows of it now.
#if RSHM_HPP_EXCEPTIONS
    info stat() const { return stat(nothrow).value(); }
#endif
    result<info> stat(nothrow_t) const noexcept {
        info now{};
        const rshm_status st = rshm_stat(handle_, &now);
        if (st != RSHM_OK) return error_info::last(st);
        return now;
    }
    // Permission bits (IPC_SET), keeping owner and group; owner, creator or root only.
#if RSHM_HPP_EXCEPTIONS
    void set_mode(unsigned int mode) { detail::check(rshm_set_mode(handle_, mode)); }
#endif
    result<void> set_mode(unsigned int mode, nothrow_t) noexcept { return detail::status(rshm_set_mode(handle_, mode)); }
    // Owner and group (IPC_SET), keeping the permission bits.
#if RSHM_HPP_EXCEPTIONS
    void set_owner(uid_t uid, gid_t gid) { detail::check(rshm_set_owner(handle_, uid, gid)); }
#endif
    result<void> set_owner(uid_t uid, gid_t gid, nothrow_t) noexcept {
        return detail::status(rshm_set_owner(handle_, uid, gid));
    }
    // Marks it for removal (IPC_RMID): the key is free at once, the memory usable until close.
#if RSHM_HPP_EXCEPTIONS
    void remove() { detail::check(rshm_remove(handle_)); }
#endif
    result<void> remove(nothrow_t) noexcept { return detail::status(rshm_remove(handle_)); }

private:
    rshm_segment *handle_ = nullptr;
};

// ---- robust mutexes ----

class mutex;

// A lock on an rshm::mutex, released when the guard is destroyed (or unlock()ed). Move-only;
// a default, moved-from or timed-out guard owns nothing (`if (guard)` tells).
//
// owner_died(): the lock is held, but its previous holder died holding it, so the data it
// guards may be half-updated. Repair it, then call consistent(). A guard that unlocks
// without consistent() (also when an exception leaves its scope during the repair) leaves
// the mutex unusable for good: every later lock fails with RSHM_ERR_NOT_RECOVERABLE, which
// is what a robust mutex promises for data nobody repaired.
class lock_guard {
public:
    lock_guard() noexcept = default;
    lock_guard(lock_guard &&other) noexcept
        : seg_(other.seg_), offset_(other.offset_), owns_(std::exchange(other.owns_, false)),
          owner_died_(std::exchange(other.owner_died_, false)) {}
    lock_guard &operator=(lock_guard &&other) noexcept {
        if (this != &other) {
            release_quietly();
            seg_ = other.seg_;
            offset_ = other.offset_;
            owns_ = std::exchange(other.owns_, false);
            owner_died_ = std::exchange(other.owner_died_, false);
        }
        return *this;
    }
    lock_guard(const lock_guard &) = delete;
    lock_guard &operator=(const lock_guard &) = delete;
    // Unlocks if it owns the lock; a failure to unlock cannot be reported from here.
    ~lock_guard() { release_quietly(); }

    bool owns_lock() const noexcept { return owns_; }
    explicit operator bool() const noexcept { return owns_; }
    // The previous holder died holding the lock: repair, then consistent().
    bool owner_died() const noexcept { return owner_died_; }

    // After owner_died() and the repairs: marks the mutex usable again.
#if RSHM_HPP_EXCEPTIONS
    void consistent() { consistent(nothrow).value(); }
#endif
    result<void> consistent(nothrow_t) noexcept {
        result<void> done = detail::status(rshm_mutex_consistent(seg_, offset_));
        if (done) owner_died_ = false;
        return done;
    }
    // Unlocks before the guard's end.
#if RSHM_HPP_EXCEPTIONS
    void unlock() { unlock(nothrow).value(); }
#endif
    result<void> unlock(nothrow_t) noexcept {
        result<void> done = detail::status(rshm_mutex_unlock(seg_, offset_));
        if (done) owns_ = owner_died_ = false;
        return done;
    }

private:
    friend class mutex;
    lock_guard(rshm_segment *seg, std::size_t offset, bool owner_died) noexcept
        : seg_(seg), offset_(offset), owns_(true), owner_died_(owner_died) {}
    void release_quietly() noexcept {
        if (owns_) (void)rshm_mutex_unlock(seg_, offset_);
        owns_ = owner_died_ = false;
    }

    rshm_segment *seg_ = nullptr;
    std::size_t offset_ = 0;
    bool owns_ = false;
    bool owner_died_ = false;
};

// A robust, process-shared mutex at an offset of a segment (RSHM_MUTEX_SIZE bytes, offset a
// multiple of 8): a name for it, holding nothing, so it copies freely. The segment's handle
// must stay open while the mutex or one of its guards is used. Locking returns a guard, so
// that a dead holder cannot go unnoticed: see lock_guard.
class mutex {
public:
    mutex() noexcept = default;
    // The mutex that mutex::init made at offset (in this process or another).
    mutex(const segment &seg, std::size_t offset) noexcept : seg_(seg.handle()), offset_(offset) {}

    // Makes the mutex at offset: once, before any process uses it (rshm_mutex_init).
#if RSHM_HPP_EXCEPTIONS
    [[nodiscard]] static mutex init(const segment &seg, std::size_t offset) {
        return init(seg, offset, nothrow).value();
    }
#endif
    [[nodiscard]] static result<mutex> init(const segment &seg, std::size_t offset, nothrow_t) noexcept {
        const rshm_status st = rshm_mutex_init(seg.handle(), offset);
        if (st != RSHM_OK) return error_info::last(st);
        return mutex(seg, offset);
    }

    // Waits for the lock, forever.
#if RSHM_HPP_EXCEPTIONS
    [[nodiscard]] lock_guard lock() const { return lock(nothrow).value(); }
#endif
    result<lock_guard> lock(nothrow_t) const noexcept { return lock_ms(-1); }
    // Takes the lock if it is free: a guard that owns nothing if not (nothrow form:
    // RSHM_ERR_WOULD_BLOCK).
#if RSHM_HPP_EXCEPTIONS
    [[nodiscard]] lock_guard try_lock() const { return unless_timed_out(lock_ms(0)); }
#endif
    result<lock_guard> try_lock(nothrow_t) const noexcept { return lock_ms(0); }
    // Waits for the lock at most `timeout`: a guard that owns nothing if it ran out (nothrow
    // form: RSHM_ERR_TIMEOUT, or RSHM_ERR_WOULD_BLOCK for a timeout of zero or less).
#if RSHM_HPP_EXCEPTIONS
    template <class Rep, class Period>
    [[nodiscard]] lock_guard try_lock_for(const std::chrono::duration<Rep, Period> &timeout) const {
        return unless_timed_out(lock_ms(detail::timeout_ms(timeout)));
    }
#endif
    template <class Rep, class Period>
    result<lock_guard> try_lock_for(const std::chrono::duration<Rep, Period> &timeout, nothrow_t) const noexcept {
        return lock_ms(detail::timeout_ms(timeout));
    }

    rshm_segment *segment_handle() const noexcept { return seg_; }
    std::size_t offset() const noexcept { return offset_; }

private:
    result<lock_guard> lock_ms(long ms) const noexcept {
        const rshm_status st = rshm_mutex_lock(seg_, offset_, ms);
        if (st == RSHM_OK || st == RSHM_ERR_OWNER_DIED) return lock_guard(seg_, offset_, st == RSHM_ERR_OWNER_DIED);
        return error_info::last(st);
    }
#if RSHM_HPP_EXCEPTIONS
    static lock_guard unless_timed_out(result<lock_guard> locked) {
        const rshm_status st = locked.status();
        if (st == RSHM_ERR_TIMEOUT || st == RSHM_ERR_WOULD_BLOCK) return lock_guard();
        return std::move(locked).value();
    }
#endif

    rshm_segment *seg_ = nullptr;
    std::size_t offset_ = 0;
};

// ---- semaphores ----

// A SysV semaphore set of one (rshm_sem), freed when destroyed (the set stays unless
// removed). Move-only. Several threads may use one at once; open it again after fork.
class semaphore {
public:
    semaphore() noexcept = default;
    // Takes ownership of a handle from rshm_sem_open.
    explicit semaphore(rshm_sem *adopted) noexcept : handle_(adopted) {}
    semaphore(semaphore &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    semaphore &operator=(semaphore &&other) noexcept {
        if (this != &other) {
            close();
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }
    semaphore(const semaphore &) = delete;
    semaphore &operator=(const semaphore &) = delete;
    ~semaphore() { close(); }

    // Opens the set for the key `opts` names; with create(), makes it with value `initial`.
#if RSHM_HPP_EXCEPTIONS
    [[nodiscard]] static semaphore open(const options &opts, std::uint16_t initial = 0) {
        return open(opts, initial, nothrow).value();
    }
#endif
    [[nodiscard]] static result<semaphore> open(const options &opts, std::uint16_t initial, nothrow_t) noexcept {
        const rshm_options c = opts.c_options();
        rshm_sem *sem = nullptr;
        const rshm_status st = rshm_sem_open(&c, initial, &sem);
        if (st != RSHM_OK) return error_info::last(st);
        return semaphore(sem);
    }
    [[nodiscard]] static result<semaphore> open(const options &opts, nothrow_t) noexcept {
        return open(opts, 0, nothrow);
    }

    void close() noexcept { rshm_sem_close(std::exchange(handle_, nullptr)); }
    rshm_sem *release() noexcept { return std::exchange(handle_, nullptr); }
    rshm_sem *handle() const noexcept { return handle_; }
    bool is_open() const noexcept { return handle_ != nullptr; }
    explicit operator bool() const noexcept { return is_open(); }

    // Takes a unit (with SEM_UNDO: given back if this process dies), waiting forever.
#if RSHM_HPP_EXCEPTIONS
    void wait() { detail::check(rshm_sem_wait(handle_, -1)); }
#endif
    result<void> wait(nothrow_t) noexcept { return detail::status(rshm_sem_wait(handle_, -1)); }
    // Takes a unit if there is one: false if not (nothrow form: RSHM_ERR_WOULD_BLOCK).
#if RSHM_HPP_EXCEPTIONS
    [[nodiscard]] bool try_wait() { return took(rshm_sem_wait(handle_, 0)); }
#endif
    result<void> try_wait(nothrow_t) noexcept { return detail::status(rshm_sem_wait(handle_, 0)); }
    // Waits for a unit at most `timeout`: false if none came (nothrow form: RSHM_ERR_TIMEOUT).
#if RSHM_HPP_EXCEPTIONS
    template <class Rep, class Period>
    [[nodiscard]] bool try_wait_for(const std::chrono::duration<Rep, Period> &timeout) {
        return took(rshm_sem_wait(handle_, detail::timeout_ms(timeout)));
    }
#endif
    template <class Rep, class Period>
    result<void> try_wait_for(const std::chrono::duration<Rep, Period> &timeout, nothrow_t) noexcept {
        return detail::status(rshm_sem_wait(handle_, detail::timeout_ms(timeout)));
    }
    // Adds a unit: gives back one this handle holds, or adds one that outlives this process.
#if RSHM_HPP_EXCEPTIONS
    void post() { detail::check(rshm_sem_post(handle_)); }
#endif
    result<void> post(nothrow_t) noexcept { return detail::status(rshm_sem_post(handle_)); }
    // The value now.
#if RSHM_HPP_EXCEPTIONS
    unsigned int value() const { return value(nothrow).value(); }
#endif
    result<unsigned int> value(nothrow_t) const noexcept {
        unsigned int now = 0;
        const rshm_status st = rshm_sem_value(handle_, &now);
        if (st != RSHM_OK) return error_info::last(st);
        return now;
    }
    // How many processes wait for a unit now.
#if RSHM_HPP_EXCEPTIONS
    unsigned int waiters() const { return waiters(nothrow).value(); }
#endif
    result<unsigned int> waiters(nothrow_t) const noexcept {
        unsigned int count = 0;
        const rshm_status st = rshm_sem_waiters(handle_, &count);
        if (st != RSHM_OK) return error_info::last(st);
        return count;
    }
    // Removes the set (IPC_RMID): waiters get RSHM_ERR_REMOVED.
#if RSHM_HPP_EXCEPTIONS
    void remove() { detail::check(rshm_sem_remove(handle_)); }
#endif
    result<void> remove(nothrow_t) noexcept { return detail::status(rshm_sem_remove(handle_)); }

private:
#if RSHM_HPP_EXCEPTIONS
    static bool took(rshm_status st) {
        if (st == RSHM_ERR_TIMEOUT || st == RSHM_ERR_WOULD_BLOCK) return false;
        detail::check(st);
        return true;
    }
#endif
    rshm_sem *handle_ = nullptr;
};

// ---- message queues ----

// What a queue receive took: the message's length and its type.
struct received {
    std::size_t len = 0;
    long type = 0;
};

// A SysV message queue (rshm_queue), freed when destroyed (the queue stays unless
// removed). Move-only; several threads may use one at once. Receives take messages by
// msgrcv's type rules: 0 the first, > 0 the first of that type, < 0 the first of the
// lowest type up to |type|. A message longer than the buffer stays in the queue
// (RSHM_ERR_OUT_OF_BOUNDS). Timed waits poll, at most 1 ms apart (docs/c-api.md).
class queue {
public:
    queue() noexcept = default;
    // Takes ownership of a handle from rshm_queue_open.
    explicit queue(rshm_queue *adopted) noexcept : handle_(adopted) {}
    queue(queue &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    queue &operator=(queue &&other) noexcept {
        if (this != &other) {
            close();
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }
    queue(const queue &) = delete;
    queue &operator=(const queue &) = delete;
    ~queue() { close(); }

    // Opens the queue for the key `opts` names (create() makes it); a size or a
    // segment's flag is refused (RSHM_ERR_INVALID_ARGUMENT).
#if RSHM_HPP_EXCEPTIONS
    [[nodiscard]] static queue open(const options &opts) { return open(opts, nothrow).value(); }
#endif
    [[nodiscard]] static result<queue> open(const options &opts, nothrow_t) noexcept {
        const rshm_options c = opts.c_options();
        rshm_queue *q = nullptr;
        const rshm_status st = rshm_queue_open(&c, &q);
        if (st != RSHM_OK) return error_info::last(st);
        return queue(q);
    }

    void close() noexcept { rshm_queue_close(std::exchange(handle_, nullptr)); }
    rshm_queue *release() noexcept { return std::exchange(handle_, nullptr); }
    rshm_queue *handle() const noexcept { return handle_; }
    bool is_open() const noexcept { return handle_ != nullptr; }
    explicit operator bool() const noexcept { return is_open(); }

    // Sends `len` bytes with `type` (> 0), waiting for room as long as it takes.
#if RSHM_HPP_EXCEPTIONS
    void send(long type, const void *msg, std::size_t len) { detail::check(rshm_queue_send(handle_, type, msg, len, -1)); }
#endif
    result<void> send(long type, const void *msg, std::size_t len, nothrow_t) noexcept {
        return detail::status(rshm_queue_send(handle_, type, msg, len, -1));
    }
    // Sends, waiting for room at most `timeout` (RSHM_ERR_TIMEOUT; zero: RSHM_ERR_WOULD_BLOCK).
    template <class Rep, class Period>
    result<void> send_for(long type, const void *msg, std::size_t len, const std::chrono::duration<Rep, Period> &timeout,
                          nothrow_t) noexcept {
        return detail::status(rshm_queue_send(handle_, type, msg, len, detail::timeout_ms(timeout)));
    }
    // Takes a message of `type` into `buf`, waiting as long as it takes.
#if RSHM_HPP_EXCEPTIONS
    received recv(long type, void *buf, std::size_t cap) { return recv_ms(type, buf, cap, -1).value(); }
#endif
    result<received> recv(long type, void *buf, std::size_t cap, nothrow_t) noexcept {
        return recv_ms(type, buf, cap, -1);
    }
    // Takes a message if one is there (RSHM_ERR_WOULD_BLOCK if not).
    result<received> try_recv(long type, void *buf, std::size_t cap, nothrow_t) noexcept {
        return recv_ms(type, buf, cap, 0);
    }
    // Takes a message, waiting at most `timeout` (RSHM_ERR_TIMEOUT).
    template <class Rep, class Period>
    result<received> recv_for(long type, void *buf, std::size_t cap, const std::chrono::duration<Rep, Period> &timeout,
                              nothrow_t) noexcept {
        return recv_ms(type, buf, cap, detail::timeout_ms(timeout));
    }
    // Removes the queue (IPC_RMID): its messages are lost, waiters get RSHM_ERR_REMOVED.
#if RSHM_HPP_EXCEPTIONS
    void remove() { detail::check(rshm_queue_remove(handle_)); }
#endif
    result<void> remove(nothrow_t) noexcept { return detail::status(rshm_queue_remove(handle_)); }

private:
    result<received> recv_ms(long type, void *buf, std::size_t cap, long timeout_ms) noexcept {
        received got;
        const rshm_status st = rshm_queue_recv(handle_, type, buf, cap, &got.len, &got.type, timeout_ms);
        if (st != RSHM_OK) return error_info::last(st);
        return got;
    }
    rshm_queue *handle_ = nullptr;
};

// ---- channels ----

// Which end of a channel.
enum class role : int { sender = RSHM_CHANNEL_SENDER, receiver = RSHM_CHANNEL_RECEIVER };

// One end of a single-producer, single-consumer message channel (rshm_channel), closed when
// destroyed (the peer then gets RSHM_ERR_CLOSED once it has read what was sent).
// Move-only; one thread uses an end at a time.
//
// The sender's calls throw when the receiver is gone (RSHM_ERR_CLOSED, RSHM_ERR_PEER_DIED).
// The receiver's calls return the message's length, or an empty optional: for recv, the
// sender closed the channel and every message is read; for try_recv and try_recv_for,
// nothing came, or the channel is closed, which closed() then says. A sender that died
// (RSHM_ERR_PEER_DIED) is an error. A message longer than the buffer stays in the channel:
// RSHM_ERR_OUT_OF_BOUNDS, and pending_size() gives its length.
// Room for one message in a channel's ring, lent by channel::reserve to be written in place:
// commit(n) sends its first n bytes. Destroyed uncommitted, it is given back unsent
// (rshm_channel_cancel): nothing shows. Move-only; valid while its channel stays open, and
// the channel sends nothing else until it is committed or given back.
class reservation {
public:
    reservation() noexcept = default;
    reservation(reservation &&other) noexcept
        : ch_(std::exchange(other.ch_, nullptr)), data_(std::exchange(other.data_, nullptr)),
          size_(std::exchange(other.size_, 0)) {}
    reservation &operator=(reservation &&other) noexcept {
        if (this != &other) {
            cancel();
            ch_ = std::exchange(other.ch_, nullptr);
            data_ = std::exchange(other.data_, nullptr);
            size_ = std::exchange(other.size_, 0);
        }
        return *this;
    }
    reservation(const reservation &) = delete;
    reservation &operator=(const reservation &) = delete;
    ~reservation() { cancel(); }

    // False for an empty guard: no room came (try_ forms), or already committed or given back.
    explicit operator bool() const noexcept { return ch_ != nullptr; }
    // The reserved bytes, in the ring (one piece), to write.
    void *data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
#if RSHM_HPP_SPAN
    std::span<std::byte> bytes() const noexcept { return {static_cast<std::byte *>(data_), size_}; }
#endif

    // Sends the first `len` bytes (at most size()) as a message; the guard is then empty.
#if RSHM_HPP_EXCEPTIONS
    void commit(std::size_t len) { detail::check(commit_status(len)); }
    void commit() { commit(size_); }
#endif
    result<void> commit(std::size_t len, nothrow_t) noexcept { return detail::status(commit_status(len)); }
    // Gives the room back unsent; the guard is then empty.
    void cancel() noexcept {
        if (ch_ != nullptr) rshm_channel_cancel(std::exchange(ch_, nullptr));
        data_ = nullptr;
        size_ = 0;
    }

private:
    friend class channel;
    reservation(rshm_channel *ch, void *data, std::size_t size) noexcept : ch_(ch), data_(data), size_(size) {}
    rshm_status commit_status(std::size_t len) noexcept {
        // Too long: refused with the reservation kept, as the C call keeps it.
        if (ch_ != nullptr && len > size_) return rshm_channel_commit(ch_, len);
        data_ = nullptr;
        size_ = 0;
        return rshm_channel_commit(std::exchange(ch_, nullptr), len);
    }

    rshm_channel *ch_ = nullptr;
    void *data_ = nullptr;
    std::size_t size_ = 0;
};

// The next message of a channel, lent in place by channel::peek; destroyed (or release()d),
// it is taken off the ring. Its bytes stay in shared memory, where a hostile sender could
// still change them while they are read: validate a copy of what you validate. Move-only;
// valid while its channel stays open.
class lent_message {
public:
    lent_message() noexcept = default;
    lent_message(lent_message &&other) noexcept
        : ch_(std::exchange(other.ch_, nullptr)), data_(std::exchange(other.data_, nullptr)),
          size_(std::exchange(other.size_, 0)) {}
    lent_message &operator=(lent_message &&other) noexcept {
        if (this != &other) {
            release();
            ch_ = std::exchange(other.ch_, nullptr);
            data_ = std::exchange(other.data_, nullptr);
            size_ = std::exchange(other.size_, 0);
        }
        return *this;
    }
    lent_message(const lent_message &) = delete;
    lent_message &operator=(const lent_message &) = delete;
    ~lent_message() { release(); }

    // False for an empty guard: no message came (try_ forms, or the sender closed), or released.
    explicit operator bool() const noexcept { return ch_ != nullptr; }
    const void *data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    std::string_view view() const noexcept { return {static_cast<const char *>(data_), size_}; }
#if RSHM_HPP_SPAN
    std::span<const std::byte> bytes() const noexcept { return {static_cast<const std::byte *>(data_), size_}; }
#endif
    // Takes the message off the ring now; the guard is then empty.
    void release() noexcept { (void)release(nothrow); }
    // The same, with the status: RSHM_ERR_LAGGED if a broadcast sender may have overwritten
    // the message while it was lent (what was read of it is not the message).
    result<void> release(nothrow_t) noexcept {
        rshm_status st = RSHM_OK;
        if (ch_ != nullptr) st = rshm_channel_release(std::exchange(ch_, nullptr));
        data_ = nullptr;
        size_ = 0;
        return detail::status(st);
    }

private:
    friend class channel;
    lent_message(rshm_channel *ch, const void *data, std::size_t size) noexcept
        : ch_(ch), data_(data), size_(size) {}

    rshm_channel *ch_ = nullptr;
    const void *data_ = nullptr;
    std::size_t size_ = 0;
};

class channel {
public:
    channel() noexcept = default;
    // Takes ownership of a handle from rshm_channel_create or _open.
    explicit channel(rshm_channel *adopted) noexcept : handle_(adopted) {}
    channel(channel &&other) noexcept
        : handle_(std::exchange(other.handle_, nullptr)), closed_(std::exchange(other.closed_, false)),
          pending_(std::exchange(other.pending_, 0)) {}
    channel &operator=(channel &&other) noexcept {
        if (this != &other) {
            close();
            handle_ = std::exchange(other.handle_, nullptr);
            closed_ = std::exchange(other.closed_, false);
            pending_ = std::exchange(other.pending_, 0);
        }
        return *this;
    }
    channel(const channel &) = delete;
    channel &operator=(const channel &) = delete;
    ~channel() { close(); }

    // Makes a channel with a ring of `capacity` bytes (messages up to capacity - 8) in a
    // new segment for the key `opts` names, and opens its `end`.
#if RSHM_HPP_EXCEPTIONS
    [[nodiscard]] static channel create(const options &opts, std::size_t capacity, role end) {
        return create(opts, capacity, end, nothrow).value();
    }
#endif
    [[nodiscard]] static result<channel> create(const options &opts, std::size_t capacity, role end,
                                               nothrow_t) noexcept {
        const rshm_options c = opts.c_options();
        rshm_channel *ch = nullptr;
        const rshm_status st = rshm_channel_create(&c, capacity, static_cast<int>(end), &ch);
        if (st != RSHM_OK) return error_info::last(st);
        return channel(ch);
    }
    // Opens `end` of the existing channel `opts` names, after checking its layout.
#if RSHM_HPP_EXCEPTIONS
    [[nodiscard]] static channel open(const options &opts, role end) { return open(opts, end, nothrow).value(); }
#endif
    [[nodiscard]] static result<channel> open(const options &opts, role end, nothrow_t) noexcept {
        const rshm_options c = opts.c_options();
        rshm_channel *ch = nullptr;
        const rshm_status st = rshm_channel_open(&c, static_cast<int>(end), &ch);
        if (st != RSHM_OK) return error_info::last(st);
        return channel(ch);
    }

    void close() noexcept { rshm_channel_close(std::exchange(handle_, nullptr)); }
    rshm_channel *release() noexcept { return std::exchange(handle_, nullptr); }
    rshm_channel *handle() const noexcept { return handle_; }
    bool is_open() const noexcept { return handle_ != nullptr; }
    explicit operator bool() const noexcept { return is_open(); }
    // The ring's size in bytes (the largest message is 8 less).
    std::size_t capacity() const noexcept { return rshm_channel_capacity(handle_); }
    // A broadcast receiver: the messages it lost by falling a ring behind, since it opened
    // (0 for every other end). The plain receive forms step past RSHM_ERR_LAGGED to the
    // oldest message still in the ring, within the caller's timeout (a retry waits only for
    // what is left of it); the nothrow forms return it.
    std::uint64_t missed() const noexcept { return rshm_channel_missed(handle_); }
    // Removes the channel's segment (IPC_RMID); its memory goes when both ends have closed.
#if RSHM_HPP_EXCEPTIONS
    void remove() { detail::check(rshm_channel_remove(handle_)); }
#endif
    result<void> remove(nothrow_t) noexcept { return detail::status(rshm_channel_remove(handle_)); }

    // ---- sending: a pointer and a length, a string_view, or (C++20) a span of bytes ----

    // Sends, waiting for room as long as it takes.
#if RSHM_HPP_EXCEPTIONS
    void send(const void *msg, std::size_t len) { detail::check(send_ms(msg, len, -1)); }
    void send(std::string_view msg) { send(detail::nonnull(msg.data()), msg.size()); }
#endif
    result<void> send(const void *msg, std::size_t len, nothrow_t) noexcept {
        return detail::status(send_ms(msg, len, -1));
    }
    result<void> send(std::string_view msg, nothrow_t) noexcept {
        return send(detail::nonnull(msg.data()), msg.size(), nothrow);
    }
    // Sends if the ring has room now: false if not (nothrow form: RSHM_ERR_WOULD_BLOCK).
#if RSHM_HPP_EXCEPTIONS
    [[nodiscard]] bool try_send(const void *msg, std::size_t len) { return sent(send_ms(msg, len, 0)); }
    [[nodiscard]] bool try_send(std::string_view msg) { return try_send(detail::nonnull(msg.data()), msg.size()); }
#endif
    result<void> try_send(const void *msg, std::size_t len, nothrow_t) noexcept {
        return detail::status(send_ms(msg, len, 0));
    }
    result<void> try_send(std::string_view msg, nothrow_t) noexcept {
        return try_send(detail::nonnull(msg.data()), msg.size(), nothrow);
    }
    // Sends, waiting for room at most `timeout`: false if none came (nothrow form: RSHM_ERR_TIMEOUT).
#if RSHM_HPP_EXCEPTIONS
    template <class Rep, class Period>
    [[nodiscard]] bool try_send_for(const void *msg, std::size_t len, const std::chrono::duration<Rep, Period> &timeout) {
        return sent(send_ms(msg, len, detail::timeout_ms(timeout)));
    }
    template <class Rep, class Period>
    [[nodiscard]] bool try_send_for(std::string_view msg, const std::chrono::duration<Rep, Period> &timeout) {
        return try_send_for(detail::nonnull(msg.data()), msg.size(), timeout);
    }
#endif
    template <class Rep, class Period>
    result<void> try_send_for(const void *msg, std::size_t len, const std::chrono::duration<Rep, Period> &timeout,
                              nothrow_t) noexcept {
        return detail::status(send_ms(msg, len, detail::timeout_ms(timeout)));
    }
    template <class Rep, class Period>
    result<void> try_send_for(std::string_view msg, const std::chrono::duration<Rep, Period> &timeout,
                              nothrow_t) noexcept {
        return try_send_for(detail::nonnull(msg.data()), msg.size(), timeout, nothrow);
    }
#if RSHM_HPP_SPAN
#if RSHM_HPP_EXCEPTIONS
    void send(std::span<const std::byte> msg) { send(detail::nonnull(msg.data()), msg.size()); }
    [[nodiscard]] bool try_send(std::span<const std::byte> msg) { return try_send(detail::nonnull(msg.data()), msg.size()); }
    template <class Rep, class Period>
    [[nodiscard]] bool try_send_for(std::span<const std::byte> msg, const std::chrono::duration<Rep, Period> &timeout) {
        return try_send_for(detail::nonnull(msg.data()), msg.size(), timeout);
    }
#endif
    result<void> send(std::span<const std::byte> msg, nothrow_t) noexcept {
        return send(detail::nonnull(msg.data()), msg.size(), nothrow);
    }
    result<void> try_send(std::span<const std::byte> msg, nothrow_t) noexcept {
        return try_send(detail::nonnull(msg.data()), msg.size(), nothrow);
    }
    template <class Rep, class Period>
    result<void> try_send_for(std::span<const std::byte> msg, const std::chrono::duration<Rep, Period> &timeout,
                              nothrow_t) noexcept {
        return try_send_for(detail::nonnull(msg.data()), msg.size(), timeout, nothrow);
    }
#endif

    // ---- receiving: into a pointer and a capacity, or (C++20) a span of bytes ----

    // Receives the next message, waiting as long as it takes: its length, or an empty
    // optional once the sender closed the channel and every message is read (nothrow form:
    // RSHM_ERR_CLOSED).
#if RSHM_HPP_EXCEPTIONS
    [[nodiscard]] std::optional<std::size_t> recv(void *buf, std::size_t cap) {
        return received(past_lagged(-1, [&](long ms) { return recv_ms(buf, cap, ms); }));
    }
#endif
    result<std::size_t> recv(void *buf, std::size_t cap, nothrow_t) noexcept { return recv_ms(buf, cap, -1); }
    // Receives a message if one is there now: empty if not, or if closed() (nothrow form:
    // RSHM_ERR_WOULD_BLOCK or RSHM_ERR_CLOSED).
#if RSHM_HPP_EXCEPTIONS
    [[nodiscard]] std::optional<std::size_t> try_recv(void *buf, std::size_t cap) {
        return received(past_lagged(0, [&](long ms) { return recv_ms(buf, cap, ms); }));
    }
#endif
    result<std::size_t> try_recv(void *buf, std::size_t cap, nothrow_t) noexcept { return recv_ms(buf, cap, 0); }
    // Receives, waiting at most `timeout`: empty if nothing came, or if closed() (nothrow
    // form: RSHM_ERR_TIMEOUT or RSHM_ERR_CLOSED).
#if RSHM_HPP_EXCEPTIONS
    template <class Rep, class Period>
    [[nodiscard]] std::optional<std::size_t> try_recv_for(void *buf, std::size_t cap,
                                                          const std::chrono::duration<Rep, Period> &timeout) {
        return received(past_lagged(detail::timeout_ms(timeout), [&](long ms) { return recv_ms(buf, cap, ms); }));
    }
#endif
    template <class Rep, class Period>
    result<std::size_t> try_recv_for(void *buf, std::size_t cap, const std::chrono::duration<Rep, Period> &timeout,
                                     nothrow_t) noexcept {
        return recv_ms(buf, cap, detail::timeout_ms(timeout));
    }
#if RSHM_HPP_SPAN
#if RSHM_HPP_EXCEPTIONS
    [[nodiscard]] std::optional<std::size_t> recv(std::span<std::byte> buf) {
        return recv(detail::nonnull(buf.data()), buf.size());
    }
    [[nodiscard]] std::optional<std::size_t> try_recv(std::span<std::byte> buf) {
        return try_recv(detail::nonnull(buf.data()), buf.size());
    }
    template <class Rep, class Period>
    [[nodiscard]] std::optional<std::size_t> try_recv_for(std::span<std::byte> buf,
                                                          const std::chrono::duration<Rep, Period> &timeout) {
        return try_recv_for(detail::nonnull(buf.data()), buf.size(), timeout);
    }
#endif
    result<std::size_t> recv(std::span<std::byte> buf, nothrow_t) noexcept {
        return recv(detail::nonnull(buf.data()), buf.size(), nothrow);
    }
    result<std::size_t> try_recv(std::span<std::byte> buf, nothrow_t) noexcept {
        return try_recv(detail::nonnull(buf.data()), buf.size(), nothrow);
    }
    template <class Rep, class Period>
    result<std::size_t> try_recv_for(std::span<std::byte> buf, const std::chrono::duration<Rep, Period> &timeout,
                                     nothrow_t) noexcept {
        return try_recv_for(detail::nonnull(buf.data()), buf.size(), timeout, nothrow);
    }
#endif

    // True once a receive found the channel closed by the sender, every message read.
    bool closed() const noexcept { return closed_; }
    // After a receive failed with RSHM_ERR_OUT_OF_BOUNDS: the length of the message that did
    // not fit (it stays in the channel; receive it with a buffer this large). 0 otherwise.
    std::size_t pending_size() const noexcept { return pending_; }

    // ---- zero-copy: write a message in place and commit it; read one in place ----

    // The largest reservation: half the ring, less the 8-byte length word (16 for broadcast).
    // Every end answers the same: at a receiver, the largest message peek() always lends.
    std::size_t max_reservation() const noexcept { return rshm_channel_max_reservation(handle_); }

    // Reserves room for a message of `len` bytes (at most max_reservation()), waiting for
    // room as long as it takes; write it through the guard, then commit.
    //   auto room = tx.reserve(64); fill(room.data()); room.commit();
#if RSHM_HPP_EXCEPTIONS
    [[nodiscard]] reservation reserve(std::size_t len) { return reserve_ms(len, -1).value(); }
    // An empty guard if the ring has no room now.
    [[nodiscard]] reservation try_reserve(std::size_t len) { return reserved(reserve_ms(len, 0)); }
    // An empty guard if no room came within `timeout`.
    template <class Rep, class Period>
    [[nodiscard]] reservation try_reserve_for(std::size_t len, const std::chrono::duration<Rep, Period> &timeout) {
        return reserved(reserve_ms(len, detail::timeout_ms(timeout)));
    }
#endif
    result<reservation> reserve(std::size_t len, nothrow_t) noexcept { return reserve_ms(len, -1); }
    result<reservation> try_reserve(std::size_t len, nothrow_t) noexcept { return reserve_ms(len, 0); }
    template <class Rep, class Period>
    result<reservation> try_reserve_for(std::size_t len, const std::chrono::duration<Rep, Period> &timeout,
                                        nothrow_t) noexcept {
        return reserve_ms(len, detail::timeout_ms(timeout));
    }

    // Lends the next message in place, waiting as long as it takes; an empty guard once the
    // sender closed the channel and every message is read (nothrow form: RSHM_ERR_CLOSED).
    // A message longer than half the ring cannot be lent (RSHM_ERR_OUT_OF_BOUNDS): recv it.
#if RSHM_HPP_EXCEPTIONS
    [[nodiscard]] lent_message peek() {
        return lent(past_lagged(-1, [&](long ms) { return peek_ms(ms); }));
    }
    // An empty guard if no message is there now (or closed()).
    [[nodiscard]] lent_message try_peek() {
        return lent(past_lagged(0, [&](long ms) { return peek_ms(ms); }));
    }
    // An empty guard if none came within `timeout` (or closed()).
    template <class Rep, class Period>
    [[nodiscard]] lent_message try_peek_for(const std::chrono::duration<Rep, Period> &timeout) {
        return lent(past_lagged(detail::timeout_ms(timeout), [&](long ms) { return peek_ms(ms); }));
    }
#endif
    result<lent_message> peek(nothrow_t) noexcept { return peek_ms(-1); }
    result<lent_message> try_peek(nothrow_t) noexcept { return peek_ms(0); }
    template <class Rep, class Period>
    result<lent_message> try_peek_for(const std::chrono::duration<Rep, Period> &timeout, nothrow_t) noexcept {
        return peek_ms(detail::timeout_ms(timeout));
    }

private:
    result<reservation> reserve_ms(std::size_t len, long ms) noexcept {
        void *room = nullptr;
        const rshm_status st = rshm_channel_reserve(handle_, len, &room, ms);
        if (st != RSHM_OK) return error_info::last(st);
        return reservation(handle_, room, len);
    }
    result<lent_message> peek_ms(long ms) noexcept {
        const void *bytes = nullptr;
        std::size_t len = 0;
        const rshm_status st = rshm_channel_peek(handle_, &bytes, &len, ms);
        if (st == RSHM_ERR_CLOSED) closed_ = true;
        if (st != RSHM_OK) return error_info::last(st);
        return lent_message(handle_, bytes, len);
    }
    rshm_status send_ms(const void *msg, std::size_t len, long ms) noexcept {
        return ms == 0 ? rshm_channel_try_send(handle_, msg, len) : rshm_channel_send(handle_, msg, len, ms);
    }
    result<std::size_t> recv_ms(void *buf, std::size_t cap, long ms) noexcept {
        std::size_t len = 0;
        const rshm_status st = ms == 0 ? rshm_channel_try_recv(handle_, buf, cap, &len)
                                       : rshm_channel_recv(handle_, buf, cap, &len, ms);
        pending_ = st == RSHM_ERR_OUT_OF_BOUNDS ? len : 0;
        if (st == RSHM_ERR_CLOSED) closed_ = true;
        if (st != RSHM_OK) return error_info::last(st);
        return len;
    }
#if RSHM_HPP_EXCEPTIONS
    // Calls `call` with a timeout of `timeout_ms` until it answers something other than
    // RSHM_ERR_LAGGED (a lapped broadcast receiver: each call after one resumes at the oldest
    // message in the ring). Each retry gets the time left of `timeout_ms`, not a fresh one.
    template <class F>
    static auto past_lagged(long timeout_ms, F call) -> decltype(call(0L)) {
        const detail::time_left left(timeout_ms);
        auto got = call(timeout_ms);
        while (got.status() == RSHM_ERR_LAGGED) got = call(left.ms());
        return got;
    }
    static bool sent(rshm_status st) {
        if (st == RSHM_ERR_TIMEOUT || st == RSHM_ERR_WOULD_BLOCK) return false;
        detail::check(st);
        return true;
    }
    static reservation reserved(result<reservation> got) {
        const rshm_status st = got.status();
        if (st == RSHM_ERR_TIMEOUT || st == RSHM_ERR_WOULD_BLOCK) return {};
        return std::move(got).value();
    }
    static lent_message lent(result<lent_message> got) {
        const rshm_status st = got.status();
        if (st == RSHM_ERR_CLOSED || st == RSHM_ERR_TIMEOUT || st == RSHM_ERR_WOULD_BLOCK) return {};
        return std::move(got).value();
    }
    static std::optional<std::size_t> received(result<std::size_t> got) {
        const rshm_status st = got.status();
        if (st == RSHM_ERR_CLOSED || st == RSHM_ERR_TIMEOUT || st == RSHM_ERR_WOULD_BLOCK) return std::nullopt;
        return *got;
    }
#endif

    rshm_channel *handle_ = nullptr;
    bool closed_ = false;
    std::size_t pending_ = 0;
};

}  // namespace rshm

#endif  // RSHM_HPP
