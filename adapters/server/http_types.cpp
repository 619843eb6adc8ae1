#include "adapters/server/http_types.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/url/parse.hpp>

namespace backtalk::server {

Response make_response(const Request& request, http::status status, std::string body,
                       std::string_view content_type) {
    Response response{status, request.version()};
    response.set(http::field::content_type, content_type);
    response.keep_alive(request.keep_alive());
    response.body() = std::move(body);
    response.prepare_payload();
    return response;
}

Response error_response(const Request& request, http::status status, std::string_view detail) {
    std::string body = std::to_string(static_cast<unsigned>(status)) + ' ' +
                       std::string(http::obsolete_reason(status)) + ": " + std::string(detail) + '\n';
    return make_response(request, status, std::move(body), "text/plain; charset=utf-8");
}

std::optional<Target> parse_target(std::string_view target) {
    const auto parsed = boost::urls::parse_origin_form(target);
    if (!parsed) return std::nullopt;
    Target out;
    for (const auto& segment : parsed->segments()) {
        if (segment == "." || segment == ".." || segment.find('\0') != std::string::npos ||
            segment.find('\\') != std::string::npos) {
            return std::nullopt;
        }
    }
    out.path = parsed->path();
    if (out.path.find('\0') != std::string::npos) return std::nullopt;
    if (parsed->has_query()) out.query = parsed->query();
    return out;
}

std::string content_security_policy(std::string_view frame_ancestors) {
    return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
           "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors " +
           std::string(frame_ancestors);
}

void add_security_headers(Response& response, const std::string& csp) {
    response.set("Content-Security-Policy", csp);
    response.set("X-Content-Type-Options", "nosniff");
    response.set("Referrer-Policy", "no-referrer");
    response.set(http::field::server, "backtalk");
}

}  // namespace backtalk::server
