// A real `backtalk serve` with an admin token (or without), for the admin
// API tests: requests with the token, REST conversations to review, and the
// audit rows once it has stopped.
#pragma once

#include "tests/integration/clients.hpp"
#include "tests/integration/server_process.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace backtalk::test {

namespace fs = std::filesystem;

inline constexpr const char* admin_token = "admin-token-for-tests-0123456789";

using Headers = std::vector<std::pair<std::string, std::string>>;

class AdminServer {
public:
    AdminServer(const TempDir& dir, bool with_token, std::vector<std::string> extra_args = {})
        : db_(dir.path() / "admin.db") {
        if (with_token) {
            std::ofstream(dir.path() / "admin.token") << admin_token << "\n";
            extra_args.push_back("--admin-token-file");
            extra_args.push_back((dir.path() / "admin.token").string());
        }
        process_.emplace(db_, extra_args);
    }

    HttpReply get(const std::string& target, const std::string& token = admin_token) const {
        return request("GET", target, token);
    }
    HttpReply request(const std::string& method, const std::string& target, const std::string& token,
                      const std::string& body = {}) const {
        Headers headers;
        if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
        if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
        return backtalk::test::http_request(process_->port(), method, target, headers, body);
    }
    json get_json(const std::string& target) const {
        const auto reply = get(target);
        INFO(target, " -> ", reply.body);
        REQUIRE(reply.status == 200);
        CHECK(reply.header("Content-Type") == "application/json");
        CHECK(reply.header("Cache-Control") == "no-store");
        return json::parse(reply.body);
    }

    // A conversation over REST of `turns` messages; returns its session.
    std::string chat(int turns) const {
        const json first = post_chat(json{{"text", "my lower back hurts"}});
        const std::string session = first["session"];
        for (int turn = 1; turn < turns; ++turn) post_chat(json{{"session", session}, {"text", "since yesterday"}});
        return session;
    }
    json post_chat(const json& body) const {
        const auto reply = backtalk::test::http_request(process_->port(), "POST", "/api/v1/chat",
                                                        {{"Content-Type", "application/json"}}, body.dump());
        INFO(reply.body);
        REQUIRE(reply.status == 200);
        return json::parse(reply.body);
    }

    // (actor, action, detail) rows of the audit table, oldest first, once the
    // server has stopped and committed them.
    std::vector<std::vector<std::string>> stop_and_read_audit() {
        process_.reset();
        SQLite::Database db(db_, SQLite::OPEN_READONLY);
        SQLite::Statement query(db, "SELECT actor, action, coalesce(detail, '') FROM audit ORDER BY id");
        std::vector<std::vector<std::string>> rows;
        while (query.executeStep()) {
            rows.push_back({query.getColumn(0).getString(), query.getColumn(1).getString(),
                            query.getColumn(2).getString()});
        }
        return rows;
    }

    const fs::path& db() const { return db_; }
    std::uint16_t port() const { return process_->port(); }

private:
    fs::path db_;
    std::optional<ServerProcess> process_;
};

}  // namespace backtalk::test
