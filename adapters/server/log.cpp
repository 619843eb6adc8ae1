#include "adapters/server/log.hpp"

#include <iostream>
#include <mutex>
#include <string>

namespace backtalk::server {

namespace {
std::mutex log_mutex;
}

void log_event(std::string_view event) {
    std::lock_guard lock(log_mutex);
    std::cerr << "backtalk: " << event << std::endl;
}

void log_error(std::string_view where, const boost::system::error_code& error) {
    log_event(std::string(where) + ": " + error.message());
}

}  // namespace backtalk::server
