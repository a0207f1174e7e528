// The C++ tests' checks: CHECK(cond) counts a pass or prints the failure and goes on; the
// counts make the summary line a test prints last ("N passed, M failed").
#ifndef RSHM_TEST_CHECK_HPP
#define RSHM_TEST_CHECK_HPP

#include <cstdio>

namespace {

int passed, failed;

void check(bool ok, const char *what, const char *file, int line) {
    if (ok) {
        ++passed;
    } else {
        ++failed;
        std::fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
    }
}

}  // namespace

#define CHECK(cond) check(static_cast<bool>(cond), #cond, __FILE__, __LINE__)

#endif
