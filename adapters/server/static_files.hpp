// The web files we serve: a fixed list, read once at startup. A request can
// only ever name one of these, so no path from a client reaches the file
// system, and a file that is a symlink out of the web directory is refused
// at startup.
#pragma once

#include "adapters/server/router.hpp"

#include <filesystem>

namespace backtalk::server {

// Registers GET (and HEAD) for / (index.html), /widget.js (markdown.js
// followed by widget.js) and /widget.css,
// with ETag revalidation. Throws std::runtime_error naming the file when one
// is missing, unreadable or outside `web_dir`.
void add_static_routes(Router& router, const std::filesystem::path& web_dir);
// The same for the review page: /admin (admin.html), /admin.js,
// /markdown.js, /admin.css.
void add_admin_pages(Router& router, const std::filesystem::path& web_dir);

}  // namespace backtalk::server
