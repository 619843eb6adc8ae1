#include "adapters/core/conversations.hpp"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace backtalk {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

std::vector<std::string> to_json_objects(const std::vector<OutObject>& objects) {
    std::vector<std::string> lines;
    lines.reserve(objects.size());
    for (std::size_t i = 0; i < objects.size(); ++i) {
        const bool end_of_turn = i + 1 == objects.size();
        lines.push_back(std::visit(
            Overloaded{
                [&](const SessionOpened& opened) {
                    return protocol::session_json(opened.session, opened.resumed, end_of_turn);
                },
                [&](const Reply& reply) { return protocol::to_json(reply, end_of_turn); },
                [&](const protocol::Error& error) { return protocol::to_json(error, end_of_turn); },
            },
            objects[i]));
    }
    return lines;
}

std::string random_session_id() {
    std::array<unsigned char, 16> bytes{};
    std::size_t filled = 0;
    while (filled < bytes.size()) {
        const ssize_t got = getrandom(bytes.data() + filled, bytes.size() - filled, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), "getrandom");
        }
        filled += static_cast<std::size_t>(got);
    }
    static constexpr char hex_digits[] = "0123456789abcdef";
    std::string id;
    id.reserve(bytes.size() * 2);
    for (unsigned char byte : bytes) {
        id += hex_digits[byte >> 4];
        id += hex_digits[byte & 0x0f];
    }
    return id;
}

}  // namespace backtalk
