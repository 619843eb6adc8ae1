#include "adapters/server/router.hpp"

#include <algorithm>
#include <stdexcept>

namespace backtalk::server {

void Router::add(http::verb method, std::string path, Handler handler) {
    add_async(method, std::move(path),
              [handler = std::move(handler)](const Request& request, const RequestContext& context,
                                             Respond respond) { respond(handler(request, context)); });
}

void Router::add_async(http::verb method, std::string path, AsyncHandler handler) {
    if (path.empty() || path.front() != '/') {
        throw std::logic_error("route path must start with '/': " + path);
    }
    PathRoutes* routes = nullptr;
    if (path.size() >= 2 && path.ends_with("/*")) {
        const std::string prefix = path.substr(0, path.size() - 1);  // keep the '/'
        const auto same_prefix = [&](const auto& entry) { return entry.first == prefix; };
        auto it = std::find_if(prefixes_.begin(), prefixes_.end(), same_prefix);
        if (it == prefixes_.end()) {
            prefixes_.emplace_back(prefix, PathRoutes{});
            std::stable_sort(prefixes_.begin(), prefixes_.end(), [](const auto& a, const auto& b) {
                return a.first.size() > b.first.size();
            });
            it = std::find_if(prefixes_.begin(), prefixes_.end(), same_prefix);
        }
        routes = &it->second;
    } else {
        routes = &exact_[path];
    }
    if (!routes->by_method.emplace(method, std::move(handler)).second) {
        throw std::logic_error("route registered twice: " + std::string(http::to_string(method)) +
                               ' ' + path);
    }
}

void Router::add_websocket(std::string path, WebSocketRoute route) {
    if (!websockets_.emplace(path, std::move(route)).second) {
        throw std::logic_error("WebSocket route registered twice: " + path);
    }
}

void Router::clear() {
    exact_.clear();
    prefixes_.clear();
    websockets_.clear();
}

const Router::PathRoutes* Router::find_path(std::string_view path) const {
    if (const auto it = exact_.find(path); it != exact_.end()) return &it->second;
    for (const auto& [prefix, routes] : prefixes_) {
        if (path.starts_with(prefix)) return &routes;
    }
    return nullptr;
}

Router::Match Router::find(http::verb method, std::string_view path) const {
    Match match;
    const PathRoutes* routes = find_path(path);
    if (!routes) return match;
    if (const auto it = routes->by_method.find(method); it != routes->by_method.end()) {
        match.handler = &it->second;
        return match;
    }
    const auto get = routes->by_method.find(http::verb::get);
    if (method == http::verb::head && get != routes->by_method.end()) {
        match.handler = &get->second;
        match.strip_body = true;
        return match;
    }
    for (const auto& [verb, handler] : routes->by_method) {
        if (!match.allow.empty()) match.allow += ", ";
        match.allow += std::string(http::to_string(verb));
        if (verb == http::verb::get && !routes->by_method.contains(http::verb::head)) {
            match.allow += ", HEAD";
        }
    }
    return match;
}

const Router::WebSocketRoute* Router::find_websocket(std::string_view path) const {
    const auto it = websockets_.find(path);
    return it == websockets_.end() ? nullptr : &it->second;
}

}  // namespace backtalk::server
