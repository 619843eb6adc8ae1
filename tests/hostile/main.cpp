// The hostile suite's runner: doctest, then the number of hostile inputs
// the server survived, for the hardening figures.
#define DOCTEST_CONFIG_IMPLEMENT
#include "tests/hostile/hostile_target.hpp"

#include <doctest/doctest.h>

#include <cstdio>

int main(int argc, char** argv) {
    doctest::Context context(argc, argv);
    const int result = context.run();
    std::printf("hostile cases survived: %d\n", backtalk::test::hostile_cases_survived());
    return result;
}
