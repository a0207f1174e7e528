// A C++17 program built through rshm's CMake package: rshm.hpp from the installed include
// directory, and a segment written and read back. Prints "cmake consumer: ... VERSION".
#include <cstring>
#include <iostream>

#include "rshm.hpp"

int main() {
    try {
        auto seg = rshm::segment::open(rshm::options().size(64).create().remove_on_close());
        seg.write_str(0, "found by find_package");
        std::cout << "cmake consumer: " << seg.read_str(0) << " " << rshm_version() << "\n";
        return std::strcmp(rshm_version(), RSHM_VERSION) == 0 ? 0 : 1;
    } catch (const rshm::error &e) {
        std::cerr << e.what() << "\n";
        return 1;
    }
}
