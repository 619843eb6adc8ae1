// One chat over WebSocket (PROTOCOL.md): each text frame is one client
// object for the conversation service; each object it answers goes back as
// one text frame. Runs on the connection's strand, with a rate limit, a
// bounded outbound queue and one write in flight.
#pragma once

#include "adapters/core/conversations.hpp"
#include "adapters/server/connection_limits.hpp"
#include "adapters/server/http_types.hpp"
#include "adapters/server/log_throttle.hpp"
#include "adapters/server/session_registry.hpp"
#include "adapters/server/token_bucket.hpp"
#include "adapters/server/turn_metrics.hpp"
#include "adapters/server/websocket_metrics.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backtalk {
class ConversationService;
}

namespace backtalk::server {

struct ServerContext;

// What every chat connection shares.
struct ChatShared {
    ConversationService& conversations;
    std::shared_ptr<ServerContext> context;
    TurnMetrics metrics;
    WebSocketMetrics counters;
    // A site whose origin is not allowed is refused on every page view: one
    // line a minute says so.
    LogThrottle refused_origin_log{std::chrono::minutes(1)};
};

class WebSocketSession : public Stoppable, public std::enable_shared_from_this<WebSocketSession> {
public:
    WebSocketSession(boost::beast::tcp_stream&& stream, ConnectionLease lease,
                     std::shared_ptr<ChatShared> shared);
    ~WebSocketSession() override;

    // Answers the upgrade request and starts the chat.
    void run(Request upgrade_request);
    // Closes with 1001 (going away) once what is queued has been written.
    void stop() override;

private:
    enum class State { handshaking, open, closing };

    void start();
    void on_accept(boost::beast::error_code error);
    void read_next();
    void on_backlog_pause(boost::beast::error_code error);
    void do_read();
    void on_read(boost::beast::error_code error, std::size_t bytes);
    bool admit_message();
    void handle_text(std::string text);
    // The turn's answer, on the strand: sent, then the next message is read.
    void on_turn(std::chrono::steady_clock::time_point started, std::string session_id,
                 std::vector<OutObject> objects);
    void queue(std::string json);
    void do_write();
    void on_write(boost::beast::error_code error, std::size_t bytes);
    void close_when_flushed(boost::beast::websocket::close_reason reason);
    void do_close();
    void on_close(boost::beast::error_code error);

    boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
    boost::asio::any_io_executor executor_;
    boost::beast::flat_buffer buffer_;
    boost::asio::steady_timer backlog_timer_;
    std::chrono::milliseconds backlog_waited_{0};  // before the next read
    Request upgrade_request_;
    std::deque<std::string> outbound_;  // front() is being written when writing_
    std::optional<boost::beast::websocket::close_reason> close_reason_;
    State state_ = State::handshaking;
    bool writing_ = false;
    bool stop_requested_ = false;
    bool counted_ = false;  // in the open-WebSockets gauge

    std::string session_id_;  // the conversation; set by the first start or message
    TokenBucket bucket_;
    int refused_in_a_row_ = 0;
    std::optional<Level> last_outcome_;
    std::string shown_asking_;  // the question the last reply sent here asked, if any

    ConnectionLease lease_;
    std::shared_ptr<ChatShared> shared_;
};

}  // namespace backtalk::server
