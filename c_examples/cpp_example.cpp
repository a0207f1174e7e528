// The handle API from C++17, through rshm.hpp: the segment closes (and, with
// remove_on_close, goes away) when its owner goes out of scope, even when an exception
// passes through; failures throw rshm::error with rshm's status, errno and message.
#include <iostream>

#include "rshm.hpp"

int main() {
    try {
        auto segment = rshm::segment::open(rshm::options().size(64).create().remove_on_close());
        segment.write_str(0, "Hello from C++!");
        std::cout << "read back: " << segment.read_str(0) << "\n";
        segment.write_str(60, "too long for the end");  // throws: out of bounds
        std::cout << "unreachable\n";
        return 1;
    } catch (const rshm::error &error) {
        std::cout << "caught " << error.status_str() << "\n";
        std::cout << "  " << error.what() << "\n";
    }
    return 0;  // the segment was closed and removed as the exception left its scope
}
