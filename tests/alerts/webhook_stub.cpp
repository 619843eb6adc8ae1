#include "webhook_stub.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace backtalk::test {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

struct WebhookStub::Impl {
    net::io_context io;
    tcp::acceptor acceptor{io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
    std::uint16_t port = acceptor.local_endpoint().port();
    mutable std::mutex mutex;
    mutable std::condition_variable arrived;
    std::vector<WebhookCall> calls;
    std::deque<unsigned> statuses;
    bool stopping = false;
    std::thread thread;

    void serve() {
        for (;;) {
            boost::system::error_code error;
            tcp::socket socket(io);
            acceptor.accept(socket, error);
            {
                std::lock_guard lock(mutex);
                if (stopping) return;
            }
            if (error) continue;
            boost::beast::flat_buffer buffer;
            http::request<http::string_body> request;
            http::read(socket, buffer, request, error);
            if (error) continue;
            WebhookCall call{std::string(request.target()), {}, request.body(), std::chrono::steady_clock::now()};
            for (const auto& field : request) {
                std::string name(field.name_string());
                std::transform(name.begin(), name.end(), name.begin(),
                               [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
                call.headers[name] = std::string(field.value());
            }
            unsigned status = 200;
            {
                std::lock_guard lock(mutex);
                if (!statuses.empty()) {
                    status = statuses.front();
                    statuses.pop_front();
                }
                calls.push_back(std::move(call));
            }
            arrived.notify_all();
            http::response<http::string_body> response{static_cast<http::status>(status), 11};
            response.body() = "{}";
            response.keep_alive(false);
            response.prepare_payload();
            http::write(socket, response, error);
            socket.shutdown(tcp::socket::shutdown_both, error);
        }
    }
};

WebhookStub::WebhookStub() : impl_(std::make_unique<Impl>()) {
    impl_->thread = std::thread([this] { impl_->serve(); });
}

WebhookStub::~WebhookStub() {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->stopping = true;
    }
    // Wakes the blocking accept.
    boost::system::error_code error;
    net::io_context io;
    tcp::socket wake(io);
    wake.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), impl_->port), error);
    impl_->thread.join();
}

std::uint16_t WebhookStub::port() const { return impl_->port; }

std::string WebhookStub::url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(impl_->port) + path;
}

void WebhookStub::script(std::vector<unsigned> statuses) {
    std::lock_guard lock(impl_->mutex);
    impl_->statuses.assign(statuses.begin(), statuses.end());
}

std::vector<WebhookCall> WebhookStub::calls() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->calls;
}

std::vector<WebhookCall> WebhookStub::wait_for_calls(std::size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    if (!impl_->arrived.wait_for(lock, timeout, [&] { return impl_->calls.size() >= count; })) {
        throw std::runtime_error("the webhook stub got " + std::to_string(impl_->calls.size()) + " calls, not " +
                                 std::to_string(count));
    }
    return impl_->calls;
}

}  // namespace backtalk::test
