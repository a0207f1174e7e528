// The handle API from C++17 with RAII: the segment closes (and, with
// RSHM_REMOVE_ON_CLOSE, goes away) when its owner goes out of scope, even
// when an exception passes through; failures become exceptions carrying
// rshm's status and message.
#include <cstring>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include "rshm.h"

namespace rshm {

class Error : public std::runtime_error {
public:
    explicit Error(rshm_status status) : std::runtime_error(rshm_last_error()), status_(status) {}
    rshm_status status() const noexcept { return status_; }

private:
    rshm_status status_;
};

class SharedSegment {
public:
    explicit SharedSegment(const rshm_options &options) {
        rshm_segment *seg = nullptr;
        check(rshm_open(&options, &seg));
        handle_.reset(seg);
    }

    std::size_t size() const noexcept { return rshm_size(handle_.get()); }

    void write(std::size_t offset, const std::string &text) { check(rshm_write_str(handle_.get(), offset, text.c_str())); }

    std::string read(std::size_t offset) const {
        std::string text(size(), '\0');
        check(rshm_read_str(handle_.get(), offset, &text[0], text.size()));
        text.resize(std::strlen(text.c_str()));
        return text;
    }

private:
    static void check(rshm_status status) {
        if (status != RSHM_OK) throw Error(status);
    }
    struct Closer {
        void operator()(rshm_segment *seg) const noexcept { rshm_close(seg); }
    };
    std::unique_ptr<rshm_segment, Closer> handle_;
};

}  // namespace rshm

int main() {
    rshm_options options{};
    options.key = IPC_PRIVATE;
    options.size = 64;
    options.flags = RSHM_CREATE | RSHM_REMOVE_ON_CLOSE;
    try {
        rshm::SharedSegment segment(options);
        segment.write(0, "Hello from C++!");
        std::cout << "read back: " << segment.read(0) << "\n";
        segment.write(60, "too long for the end");  // throws: out of bounds
        std::cout << "unreachable\n";
        return 1;
    } catch (const rshm::Error &error) {
        std::cout << "caught " << rshm_status_str(error.status()) << "\n";
        std::cout << "  " << error.what() << "\n";
    }
    return 0;  // the segment was closed and removed as the exception left its scope
}
