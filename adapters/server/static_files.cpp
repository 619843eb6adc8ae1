#include "adapters/server/static_files.hpp"

#include <array>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace backtalk::server {

namespace fs = std::filesystem;

namespace {

struct WebFile {
    const char* url_path;
    // Served one after the other; the second is optional.
    std::array<const char*, 2> file_names;
    const char* content_type;
};

// The widget is one file for sites to embed, but its markdown renderer is
// the one the review page uses too: /widget.js is markdown.js, then widget.js.
constexpr std::array<WebFile, 3> web_files{{
    {"/", {"index.html", nullptr}, "text/html; charset=utf-8"},
    {"/widget.js", {"markdown.js", "widget.js"}, "text/javascript; charset=utf-8"},
    {"/widget.css", {"widget.css", nullptr}, "text/css; charset=utf-8"},
}};

// The review page: served only when the admin routes are on.
constexpr std::array<WebFile, 4> admin_files{{
    {"/admin", {"admin.html", nullptr}, "text/html; charset=utf-8"},
    {"/admin.js", {"admin.js", nullptr}, "text/javascript; charset=utf-8"},
    {"/markdown.js", {"markdown.js", nullptr}, "text/javascript; charset=utf-8"},
    {"/admin.css", {"admin.css", nullptr}, "text/css; charset=utf-8"},
}};

struct LoadedFile {
    std::string body;
    std::string etag;
    std::string content_type;
};

bool inside(const fs::path& root, const fs::path& path) {
    auto root_part = root.begin();
    auto path_part = path.begin();
    for (; root_part != root.end(); ++root_part, ++path_part) {
        if (path_part == path.end() || *root_part != *path_part) return false;
    }
    return true;
}

std::string read_web_file(const fs::path& root, const char* file_name) {
    const fs::path path = root / file_name;
    std::error_code error;
    const fs::path real = fs::canonical(path, error);
    if (error) throw std::runtime_error("web file " + path.string() + ": " + error.message());
    if (!inside(root, real)) {
        throw std::runtime_error("web file " + path.string() + " leads outside " + root.string());
    }
    if (!fs::is_regular_file(real, error)) {
        throw std::runtime_error("web file " + path.string() + " is not a regular file");
    }
    std::ifstream in(real, std::ios::binary);
    std::string body{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (!in.good() && !in.eof()) throw std::runtime_error("web file " + path.string() + ": cannot read");
    return body;
}

LoadedFile load(const fs::path& root, const WebFile& file) {
    std::string body;
    for (const char* file_name : file.file_names) {
        if (file_name) body += read_web_file(root, file_name);
    }
    std::ostringstream etag;
    etag << '"' << std::hex << std::hash<std::string>{}(body) << '-' << body.size() << '"';
    return {std::move(body), etag.str(), file.content_type};
}

template <std::size_t N>
void add_files(Router& router, const fs::path& web_dir, const std::array<WebFile, N>& files) {
    std::error_code error;
    const fs::path root = fs::canonical(web_dir, error);
    if (error) throw std::runtime_error("web directory " + web_dir.string() + ": " + error.message());

    for (const auto& file : files) {
        auto loaded = std::make_shared<const LoadedFile>(load(root, file));
        router.add(http::verb::get, file.url_path, [loaded](const Request& request, const RequestContext&) {
            if (request[http::field::if_none_match] == loaded->etag) {
                Response response{http::status::not_modified, request.version()};
                response.keep_alive(request.keep_alive());
                response.set(http::field::etag, loaded->etag);
                return response;
            }
            auto response = make_response(request, http::status::ok, loaded->body, loaded->content_type);
            response.set(http::field::etag, loaded->etag);
            // Revalidate each time so a new widget reaches people at once.
            response.set(http::field::cache_control, "no-cache");
            return response;
        });
    }
}

}  // namespace

void add_static_routes(Router& router, const fs::path& web_dir) { add_files(router, web_dir, web_files); }

void add_admin_pages(Router& router, const fs::path& web_dir) { add_files(router, web_dir, admin_files); }

}  // namespace backtalk::server
