// Waiting in tests for what another thread or process makes true. Tests
// never assert on how long that took: the limit is generous, because CI runs
// the suites in parallel under sanitizers on two cores.
#pragma once

#include <chrono>
#include <thread>

namespace backtalk::test {

// True as soon as `condition()` is; false if it still is not at the limit.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > give_up) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
}

}  // namespace backtalk::test
