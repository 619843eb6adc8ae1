#include "adapters/server/websocket_session.hpp"

#include "adapters/core/conversations.hpp"
#include "adapters/server/log.hpp"
#include "adapters/server/server_context.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>

#include <exception>

namespace backtalk::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {

bool is_disconnect(const beast::error_code& error) {
    return error == websocket::error::closed || error == net::error::operation_aborted ||
           error == beast::error::timeout || error == net::error::eof ||
           error == net::error::connection_reset || error == net::error::broken_pipe ||
           error == net::error::not_connected;
}

const ChannelInfo websocket_channel{"websocket", ""};

// Read buffers past this size are given back after their message (idle
// connections stay within their memory budget).
constexpr std::size_t idle_buffer_limit = 4 * 1024;

}  // namespace

WebSocketSession::WebSocketSession(beast::tcp_stream&& stream, ConnectionLease lease,
                                   std::shared_ptr<ChatShared> shared)
    : ws_(std::move(stream)),
      executor_(ws_.get_executor()),
      backlog_timer_(executor_),
      bucket_(shared->context->options.messages_per_second, shared->context->options.message_burst,
              TokenBucket::Clock::now()),
      lease_(std::move(lease)),
      shared_(std::move(shared)) {}

WebSocketSession::~WebSocketSession() {
    shared_->context->sessions.remove(this);
    if (counted_) shared_->context->open_websockets.add(-1);
}

void WebSocketSession::run(Request upgrade_request) {
    upgrade_request_ = std::move(upgrade_request);
    net::dispatch(executor_, beast::bind_front_handler(&WebSocketSession::start, shared_from_this()));
}

void WebSocketSession::start() {
    // A connection upgraded while the server stops is dropped.
    if (!shared_->context->sessions.add(shared_from_this())) return;
    const auto& options = shared_->context->options;
    auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
    timeouts.handshake_timeout = options.handshake_timeout;
    timeouts.idle_timeout = options.idle_timeout;
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    websocket::permessage_deflate deflate;
    deflate.server_enable = false;
    ws_.set_option(deflate);
    ws_.read_message_max(options.max_frame_bytes);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& response) { response.set(http::field::server, "backtalk"); }));
    ws_.text(true);
    ws_.async_accept(upgrade_request_,
                     beast::bind_front_handler(&WebSocketSession::on_accept, shared_from_this()));
}

void WebSocketSession::stop() {
    net::post(executor_, [self = shared_from_this()] {
        self->stop_requested_ = true;
        self->backlog_timer_.cancel();
        if (self->state_ == State::open) {
            self->close_when_flushed({websocket::close_code::going_away, "server stopping"});
        }
    });
}

void WebSocketSession::on_accept(beast::error_code error) {
    if (error) {
        if (!is_disconnect(error)) log_error("websocket handshake", error);
        return;
    }
    upgrade_request_ = {};
    state_ = State::open;
    counted_ = true;
    shared_->context->open_websockets.add(1);
    if (stop_requested_) return close_when_flushed({websocket::close_code::going_away, "server stopping"});
    do_read();
}

// While the conversation log's writer is behind, the next message waits a
// little before it is read: under overload people see slower replies rather
// than records being dropped. The wait per message is bounded, and the store
// reports no backlog while the database fails, so a broken disk never stalls
// a chat.
void WebSocketSession::read_next() {
    constexpr std::chrono::milliseconds pause{2};
    constexpr std::chrono::milliseconds max_wait{250};
    if (backlog_waited_ < max_wait && shared_->conversations.log_backlogged()) {
        shared_->counters.log_pauses.add();
        backlog_waited_ += pause;
        backlog_timer_.expires_after(pause);
        backlog_timer_.async_wait(beast::bind_front_handler(&WebSocketSession::on_backlog_pause, shared_from_this()));
        return;
    }
    backlog_waited_ = std::chrono::milliseconds{0};
    do_read();
}

void WebSocketSession::on_backlog_pause(beast::error_code error) {
    if (error || state_ != State::open) return;  // cancelled by stop(), or closing
    read_next();
}

void WebSocketSession::do_read() {
    ws_.async_read(buffer_, beast::bind_front_handler(&WebSocketSession::on_read, shared_from_this()));
}

void WebSocketSession::on_read(beast::error_code error, std::size_t) {
    if (error) {
        // Beast has already sent close 1009 for an oversized message.
        if (error == websocket::error::message_too_big) {
            shared_->counters.oversize.add();
        } else if (error != websocket::error::closed &&
                   error.category() == make_error_code(websocket::error::closed).category()) {
            // A WebSocket protocol error: Beast has closed with 1002 or 1007
            // (e.g. invalid UTF-8 in a text frame).
            shared_->counters.protocol_errors.add();
        } else if (!is_disconnect(error)) {
            log_error("websocket read", error);
        }
        return;
    }
    if (state_ != State::open) return;  // closing: the close handshake reads the rest
    const bool text = ws_.got_text();
    const std::string message = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    // A rare long message must not keep its buffer for the connection's life.
    if (buffer_.capacity() > idle_buffer_limit) buffer_.shrink_to_fit();
    if (admit_message()) {
        // The next message is read once this one is answered.
        if (text) return handle_text(message);
        {
            shared_->metrics.count_error("bad_json");
            queue(protocol::to_json(shared_->conversations.error("bad_json"), true));
        }
    }
    if (state_ == State::open) read_next();
}

// The rate limit: a refused message is answered rate_limited; a client that
// keeps going past the strikes allowed is closed with 1008.
bool WebSocketSession::admit_message() {
    if (bucket_.try_take(TokenBucket::Clock::now())) {
        refused_in_a_row_ = 0;
        return true;
    }
    shared_->metrics.count_error("rate_limited");
    // Every message is answered, the last one before the close too.
    queue(protocol::to_json(shared_->conversations.error("rate_limited"), true));
    if (++refused_in_a_row_ > shared_->context->options.rate_strikes_before_close) {
        close_when_flushed({websocket::close_code::policy_error, "rate limit exceeded"});
    }
    return false;
}

void WebSocketSession::handle_text(std::string text) {
    const auto started = std::chrono::steady_clock::now();
    try {
        shared_->conversations.handle_json_async(
            session_id_, std::move(text), websocket_channel, shown_asking_,
            [self = shared_from_this(), started](std::string session_id, std::vector<OutObject> objects) {
                // Here at once, or from the store's reader thread.
                net::dispatch(self->ws_.get_executor(), [self, started, session_id = std::move(session_id),
                                                         objects = std::move(objects)]() mutable {
                    self->on_turn(started, std::move(session_id), std::move(objects));
                });
            });
    } catch (const std::exception&) {
        log_event("websocket: the conversation service failed");
        on_turn(started, session_id_, {shared_->conversations.error("internal")});
    }
}

void WebSocketSession::on_turn(std::chrono::steady_clock::time_point started, std::string session_id,
                               std::vector<OutObject> objects) {
    session_id_ = std::move(session_id);
    shared_->metrics.record_turn(objects, std::chrono::steady_clock::now() - started, last_outcome_);
    for (const auto& object : objects) {
        if (const auto* reply = std::get_if<Reply>(&object)) shown_asking_ = reply->asking;
    }
    for (auto& json : to_json_objects(objects)) queue(std::move(json));
    if (state_ == State::open) read_next();
}

void WebSocketSession::queue(std::string json) {
    if (state_ != State::open) return;
    if (outbound_.size() >= shared_->context->options.outbound_queue_limit) {
        // The client does not read what it asked for: keep the frame being
        // written, drop the rest, and close.
        shared_->counters.slow.add();
        outbound_.resize(writing_ ? 1 : 0);
        return close_when_flushed({websocket::close_code::policy_error, "not reading"});
    }
    outbound_.push_back(std::move(json));
    do_write();
}

void WebSocketSession::do_write() {
    if (writing_ || outbound_.empty()) return;
    writing_ = true;
    ws_.async_write(net::buffer(outbound_.front()),
                    beast::bind_front_handler(&WebSocketSession::on_write, shared_from_this()));
}

void WebSocketSession::on_write(beast::error_code error, std::size_t) {
    writing_ = false;
    if (error) {
        if (!is_disconnect(error)) log_error("websocket write", error);
        return;
    }
    outbound_.pop_front();
    if (!outbound_.empty()) return do_write();
    if (state_ == State::closing) do_close();
}

void WebSocketSession::close_when_flushed(websocket::close_reason reason) {
    if (state_ != State::open) return;
    state_ = State::closing;
    close_reason_ = std::move(reason);
    if (!writing_) do_close();
}

void WebSocketSession::do_close() {
    ws_.async_close(*close_reason_, beast::bind_front_handler(&WebSocketSession::on_close, shared_from_this()));
}

void WebSocketSession::on_close(beast::error_code error) {
    if (error && !is_disconnect(error)) log_error("websocket close", error);
}

}  // namespace backtalk::server
