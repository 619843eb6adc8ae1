#include "adapters/server/http_session.hpp"

#include "adapters/server/log.hpp"
#include "adapters/server/server_context.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <atomic>
#include <exception>

namespace backtalk::server {

namespace net = boost::asio;
namespace beast = boost::beast;

namespace {

bool is_parse_error(const beast::error_code& error) {
    return error.category() == make_error_code(http::error::bad_target).category();
}

// Errors that mean the peer went away or we closed: nothing to log.
bool is_disconnect(const beast::error_code& error) {
    return error == net::error::operation_aborted || error == beast::error::timeout ||
           error == net::error::eof || error == net::error::connection_reset ||
           error == net::error::broken_pipe || error == http::error::end_of_stream ||
           error == http::error::partial_message;
}

// A stand-in for requests that could not be parsed: answer in HTTP/1.1 and
// close.
Request unparsed_request() {
    Request request;
    request.version(11);
    request.keep_alive(false);
    return request;
}

}  // namespace

HttpSession::HttpSession(net::ip::tcp::socket&& socket, std::shared_ptr<ServerContext> context,
                         ConnectionLease lease, std::string client_address)
    : stream_(std::move(socket)),
      executor_(stream_.get_executor()),
      context_(std::move(context)),
      lease_(std::move(lease)),
      client_address_(std::move(client_address)) {}

HttpSession::~HttpSession() {
    context_->sessions.remove(this);
    if (counted_) context_->open_http_connections.add(-1);
}

void HttpSession::run() {
    net::dispatch(executor_, beast::bind_front_handler(&HttpSession::start, shared_from_this()));
}

void HttpSession::start() {
    if (lease_) {
        counted_ = true;
        context_->open_http_connections.add(1);
    }
    // A connection accepted while the server stops gets one answer at most.
    if (!context_->sessions.add(shared_from_this())) stopping_ = true;
    do_read();
}

void HttpSession::stop() {
    net::post(executor_, [self = shared_from_this()] {
        if (self->upgraded_) return;
        self->stopping_ = true;
        if (self->reading_) self->stream_.cancel();
    });
}

void HttpSession::do_read() {
    if (stopping_) return do_close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(context_->options.max_header_bytes));
    parser_->body_limit(context_->options.max_body_bytes);
    stream_.expires_after(context_->options.http_timeout);
    reading_ = true;
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
}

void HttpSession::on_read(beast::error_code error, std::size_t) {
    reading_ = false;
    if (error == http::error::header_limit) {
        return send(error_response(unparsed_request(), http::status::request_header_fields_too_large,
                                   "the request headers are too large"),
                    false);
    }
    if (error == http::error::body_limit) {
        return send(error_response(unparsed_request(), http::status::payload_too_large,
                                   "the request body is too large"),
                    false);
    }
    if (error == http::error::end_of_stream) return do_close();
    if (error && is_parse_error(error) && error != http::error::partial_message) {
        return send(error_response(unparsed_request(), http::status::bad_request,
                                   "malformed HTTP request"),
                    false);
    }
    if (error) {
        if (error == beast::error::timeout) {
            // Slow or silent clients (slowloris) end here, visibly.
            context_->http_timeouts.add();
        } else if (!is_disconnect(error)) {
            log_error("http read", error);
        }
        return;  // the stream closes when this session is destroyed
    }
    handle_request(parser_->release());
}

void HttpSession::handle_request(Request request) {
    const auto target = parse_target(request.target());
    if (!target) {
        return send(error_response(request, http::status::bad_request, "malformed or unsafe path"), false);
    }
    if (!lease_) {
        context_->refused_over_limit.add();
        auto response = error_response(request, http::status::service_unavailable,
                                       "too many connections, try again later");
        response.set(http::field::retry_after, "5");
        response.keep_alive(false);
        return send(std::move(response), false);
    }
    RequestContext request_context{target->path, target->query, client_address_};
    if (context_->router.find_websocket(request_context.path)) {
        return upgrade(std::move(request), std::move(request_context));
    }
    dispatch_route(request, std::move(request_context));
}

void HttpSession::upgrade(Request request, RequestContext request_context) {
    const auto* route = context_->router.find_websocket(request_context.path);
    if (!beast::websocket::is_upgrade(request)) {
        const bool get = request.method() == http::verb::get || request.method() == http::verb::head;
        auto response = get ? error_response(request, http::status::upgrade_required,
                                             "this is a WebSocket endpoint")
                            : error_response(request, http::status::method_not_allowed,
                                             "this is a WebSocket endpoint");
        if (get) {
            response.set(http::field::upgrade, "websocket");
        } else {
            response.set(http::field::allow, "GET");
        }
        return send(std::move(response), request.method() == http::verb::head);
    }
    if (auto refusal = route->admit(request, request_context)) {
        refusal->keep_alive(false);
        return send(std::move(*refusal), false);
    }
    upgraded_ = true;
    if (counted_) {
        counted_ = false;
        context_->open_http_connections.add(-1);
    }
    context_->sessions.remove(this);
    stream_.expires_never();  // the WebSocket has timeouts of its own
    route->open(std::move(stream_), std::move(request), std::move(lease_), std::move(request_context));
}

void HttpSession::dispatch_route(const Request& request, RequestContext request_context) {
    const auto match = context_->router.find(request.method(), request_context.path);
    if (!match.handler) {
        if (match.allow.empty()) {
            return send(error_response(request, http::status::not_found, "no such page"), false);
        }
        auto response = error_response(request, http::status::method_not_allowed,
                                        "this page takes " + match.allow);
        response.set(http::field::allow, match.allow);
        return send(std::move(response), false);
    }
    // The handler may answer later from another thread; the first answer
    // wins and is sent on this connection's strand.
    auto answered = std::make_shared<std::atomic<bool>>(false);
    Respond respond = [self = shared_from_this(), answered, strip = match.strip_body](Response response) {
        if (answered->exchange(true)) return;
        net::dispatch(self->executor_, [self, strip, response = std::move(response)]() mutable {
            self->send(std::move(response), strip);
        });
    };
    try {
        (*match.handler)(request, request_context, std::move(respond));
    } catch (const std::exception&) {
        log_event("http handler failed: " + request_context.path);
        if (!answered->exchange(true)) {
            send(error_response(request, http::status::internal_server_error, "internal error"), false);
        }
    }
}

void HttpSession::send(Response response, bool strip_body) {
    add_security_headers(response, context_->csp);
    if (stopping_) response.keep_alive(false);
    if (strip_body) {
        const auto length = response.body().size();
        response.body().clear();
        response.content_length(length);
    }
    context_->http_responses(response.result_int()).add();
    response_ = std::move(response);
    stream_.expires_after(context_->options.http_timeout);
    http::async_write(stream_, *response_,
                      beast::bind_front_handler(&HttpSession::on_write, shared_from_this(),
                                                response_->need_eof()));
}

void HttpSession::on_write(bool close, beast::error_code error, std::size_t) {
    if (error) {
        if (!is_disconnect(error)) log_error("http write", error);
        return;
    }
    response_.reset();
    if (close) return do_close();
    do_read();
}

void HttpSession::do_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
    drain();
}

// Reads and drops what the client still sends until it closes too, for a
// little while: closing a socket with unread data resets it, and the client
// could lose the response we just sent (a 413 for an oversized body).
void HttpSession::drain() {
    constexpr std::size_t max_drained = 1 << 20;
    if (drained_ >= max_drained) return;
    stream_.expires_after(std::chrono::seconds(2));
    reading_ = true;
    stream_.async_read_some(net::buffer(drain_buffer_),
                            [self = shared_from_this()](beast::error_code error, std::size_t bytes) {
                                self->reading_ = false;
                                self->drained_ += bytes;
                                if (!error) self->drain();
                            });
}

}  // namespace backtalk::server
