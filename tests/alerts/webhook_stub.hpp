// A webhook receiver for tests: an HTTP server on 127.0.0.1 (a free port the
// system picks) that records each POST (target, headers, body, when) and
// answers with the statuses a test scripted, then 200. One connection at a
// time, on a thread of its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace backtalk::test {

struct WebhookCall {
    std::string target;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
    std::chrono::steady_clock::time_point received;
};

class WebhookStub {
public:
    WebhookStub();
    ~WebhookStub();
    WebhookStub(const WebhookStub&) = delete;
    WebhookStub& operator=(const WebhookStub&) = delete;

    std::uint16_t port() const;
    std::string url(const std::string& path = "/alerts") const;
    // The next calls get these statuses, in order; then 200.
    void script(std::vector<unsigned> statuses);
    std::vector<WebhookCall> calls() const;
    // Waits until `count` calls have arrived; throws after `timeout`.
    std::vector<WebhookCall> wait_for_calls(std::size_t count,
                                            std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace backtalk::test
