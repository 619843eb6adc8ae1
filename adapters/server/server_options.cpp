#include "adapters/server/server_options.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

namespace backtalk::server {

namespace {

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::uint64_t parse_unsigned(std::string_view digits, std::string_view what) {
    std::uint64_t value = 0;
    const auto* end = digits.data() + digits.size();
    const auto [ptr, ec] = std::from_chars(digits.data(), end, value);
    if (digits.empty() || ec != std::errc{} || ptr != end) {
        throw std::invalid_argument(std::string(what) + ": '" + std::string(digits) +
                                    "' is not a whole number");
    }
    return value;
}

std::string host_for_url(const std::string& host) {
    return host.find(':') == std::string::npos ? host : "[" + host + "]";
}

}  // namespace

ListenAddress parse_listen_address(std::string_view text) {
    const std::string shown = "--listen '" + std::string(text) + "'";
    std::string_view host;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            throw std::invalid_argument(shown + ": expected [IPV6]:PORT");
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos || text.find(':') != colon) {
            throw std::invalid_argument(shown + ": expected HOST:PORT, e.g. 127.0.0.1:8080");
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    const auto port_number = parse_unsigned(port, shown + ": port");
    if (port_number > 65535) throw std::invalid_argument(shown + ": port must be 0 to 65535");

    ListenAddress address;
    address.port = static_cast<std::uint16_t>(port_number);
    if (lower(host) == "localhost") {
        address.host = "127.0.0.1";
        return address;
    }
    boost::system::error_code ec;
    const auto ip = boost::asio::ip::make_address(std::string(host), ec);
    if (ec) {
        throw std::invalid_argument(shown + ": '" + std::string(host) +
                                    "' is not an IP address (or localhost)");
    }
    address.host = ip.to_string();
    return address;
}

std::chrono::seconds parse_duration(std::string_view text) {
    const std::string shown = "duration '" + std::string(text) + "'";
    if (text.empty()) throw std::invalid_argument("empty duration");
    std::uint64_t unit_seconds = 1;
    std::string_view digits = text;
    switch (text.back()) {
        case 's': unit_seconds = 1; digits.remove_suffix(1); break;
        case 'm': unit_seconds = 60; digits.remove_suffix(1); break;
        case 'h': unit_seconds = 3600; digits.remove_suffix(1); break;
        case 'd': unit_seconds = 86400; digits.remove_suffix(1); break;
        default: break;
    }
    const auto count = parse_unsigned(digits, shown + ": expected e.g. 90s, 30m, 24h or 7d;");
    constexpr std::uint64_t ten_years = 10ULL * 365 * 86400;
    if (count == 0) throw std::invalid_argument(shown + ": must be more than zero");
    if (count > ten_years / unit_seconds) throw std::invalid_argument(shown + ": too long");
    return std::chrono::seconds(static_cast<std::int64_t>(count * unit_seconds));
}

std::string normalise_origin(std::string_view origin) {
    if (origin == "*") return "*";
    const auto scheme_end = origin.find("://");
    std::string out = lower(origin);
    while (!out.empty() && out.back() == '/') out.pop_back();
    const bool plausible = scheme_end != std::string_view::npos && scheme_end > 0 &&
                           out.size() > scheme_end + 3 &&
                           out.find('/', scheme_end + 3) == std::string::npos &&
                           std::none_of(out.begin(), out.end(), [](unsigned char c) {
                               return std::isspace(c) || c == '?' || c == '#' || c == '@';
                           });
    if (!plausible) {
        throw std::invalid_argument("origin '" + std::string(origin) +
                                    "': expected scheme://host[:port], e.g. https://example.org, or *");
    }
    return out;
}

std::vector<std::string> own_origins(const ListenAddress& address) {
    // Appended rather than `":" + std::to_string(...)`, which GCC 12 at -O3
    // wrongly flags with -Wrestrict (GCC bug 105329) and -Werror fails the
    // Release build.
    std::string port(1, ':');
    port += std::to_string(address.port);
    std::vector<std::string> origins{"http://" + host_for_url(address.host) + port};
    boost::system::error_code ec;
    const auto ip = boost::asio::ip::make_address(address.host, ec);
    if (!ec && (ip.is_loopback() || ip.is_unspecified())) {
        for (const char* alias : {"http://localhost", "http://127.0.0.1", "http://[::1]"}) {
            std::string origin = alias + port;
            if (std::find(origins.begin(), origins.end(), origin) == origins.end()) {
                origins.push_back(std::move(origin));
            }
        }
    }
    return origins;
}

void validate(const ServerOptions& options) {
    if (options.threads < 1 || options.threads > 256) {
        throw std::invalid_argument("--threads must be 1 to 256");
    }
    if (options.max_connections < 1) throw std::invalid_argument("--max-connections must be at least 1");
    if (options.max_connections_per_address < 1) {
        throw std::invalid_argument("--max-connections-per-address must be at least 1");
    }
    if (!(options.messages_per_second > 0) || !(options.message_burst >= 1)) {
        throw std::invalid_argument("--rate must be more than 0 and --burst at least 1");
    }
    for (const auto& origin : options.allowed_origins) normalise_origin(origin);
    const auto& ancestors = options.frame_ancestors;
    if (ancestors.empty() || std::any_of(ancestors.begin(), ancestors.end(), [](unsigned char c) {
            return c == ';' || c == ',' || c < 0x20 || c > 0x7e;
        })) {
        throw std::invalid_argument("--frame-ancestors: expected CSP sources such as "
                                    "\"'self' https://example.org\"");
    }
}

}  // namespace backtalk::server
