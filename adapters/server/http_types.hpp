// The HTTP vocabulary shared by the server and every route module.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace backtalk::server {

namespace http = boost::beast::http;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// What the server worked out about a request before routing it.
struct RequestContext {
    std::string path;            // percent-decoded, without the query
    std::string query;           // percent-decoded, without '?'
    std::string client_address;  // the peer's IP address
};

// Sends the response of an asynchronous handler. Call it exactly once, from
// any thread; the connection carries on on its own strand.
using Respond = std::function<void(Response)>;

// A response in the request's HTTP version and keep-alive mode, with
// Content-Type and Content-Length set.
Response make_response(const Request& request, http::status status, std::string body,
                       std::string_view content_type);
// A short plain-text explanation, e.g. "404 Not Found: no such page".
Response error_response(const Request& request, http::status status, std::string_view detail);

struct Target {
    std::string path;
    std::string query;
};
// Decodes an origin-form request target ("/a%20b?x=1"). Empty when it is
// malformed, or when the decoded path holds a NUL, a backslash or a "." or
// ".." segment: nothing we serve needs one, and they are how paths escape.
std::optional<Target> parse_target(std::string_view target);

// Content-Security-Policy for our pages: our own scripts, styles and
// WebSocket only; `frame_ancestors` says who may embed them.
std::string content_security_policy(std::string_view frame_ancestors);
// Adds the headers every response carries.
void add_security_headers(Response& response, const std::string& csp);

}  // namespace backtalk::server
