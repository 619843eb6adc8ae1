// The server's own log: one line per event on stderr. It never carries what
// people wrote, only what happened and error codes.
#pragma once

#include <boost/system/error_code.hpp>

#include <string_view>

namespace backtalk::server {

void log_event(std::string_view event);
void log_error(std::string_view where, const boost::system::error_code& error);

}  // namespace backtalk::server
