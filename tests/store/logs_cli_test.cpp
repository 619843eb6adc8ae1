// End to end through the `backtalk` binary: `chat --json` writes the log,
// `logs ...` reads and maintains it.
#include "run_backtalk.hpp"
#include "store_test_support.hpp"
#include "umask_guard.hpp"
#include "store/sqlite/schema.hpp"

#include "postgres_server.hpp"
#include "store/postgresql/pg_connection.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

using nlohmann::json;
using backtalk::test::quoted;
using backtalk::test::Run;
using backtalk::test::run_backtalk;
using backtalk::test::typed;
using backtalk::test::typed_input;

namespace {

std::vector<json> json_lines(const std::string& text) {
    std::vector<json> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) lines.push_back(json::parse(line));
    }
    return lines;
}

}  // namespace

TEST_CASE("every turn of backtalk chat --json appears in logs export, in order and direction") {
    backtalk::test::TempDir dir;
    const std::string db = quoted((dir / "log.db").string());
    const Run chat = run_backtalk(dir, "chat --json --db " + db, typed_input());
    REQUIRE_MESSAGE(chat.exit_code == 0, chat.err);
    const std::vector<json> answers = json_lines(chat.out);

    const Run exported = run_backtalk(dir, "logs export --format jsonl --db " + db);
    REQUIRE_MESSAGE(exported.exit_code == 0, exported.err);
    const std::vector<json> rows = json_lines(exported.out);

    // The rows are the client lines and the bot's answers, interleaved turn by
    // turn: each client line, then the objects up to its end_of_turn.
    std::size_t row = 0;
    std::size_t answer = 0;
    for (const auto& line : typed) {
        REQUIRE(row < rows.size());
        CHECK(rows[row].at("direction") == "in");
        CHECK(rows[row].at("seq") == row + 1);
        const json sent = json::parse(line, nullptr, false);
        if (sent.is_discarded()) {
            CHECK(rows[row].at("kind") == "invalid");
        } else {
            CHECK(rows[row].at("kind") == sent.at("type"));
        }
        ++row;
        for (bool end = false; !end; ++row, ++answer) {
            REQUIRE(answer < answers.size());
            REQUIRE(row < rows.size());
            const json& bot = answers[answer];
            const json& logged = rows[row];
            CHECK(logged.at("direction") == "out");
            CHECK(logged.at("kind") == bot.at("type"));
            if (bot.at("type") == "reply") CHECK(logged.at("text") == bot.at("text"));
            if (bot.at("type") == "error") CHECK(logged.at("code") == bot.at("code"));
            CHECK(logged.at("channel") == "terminal");
            end = bot.at("end_of_turn").get<bool>();
        }
    }
    CHECK(row == rows.size());
    CHECK(answer == answers.size());
    const auto first_message =
        std::find_if(rows.begin(), rows.end(), [](const json& r) { return r.at("kind") == "message"; });
    REQUIRE(first_message != rows.end());
    CHECK(first_message->at("text") == "my lower back hurts since I moved house, I am [email], [phone]");

    // The raw file (and WAL, if any) never saw the address or the number.
    const std::string bytes = backtalk::test::file_bytes(dir / "log.db") + backtalk::test::file_bytes(dir / "log.db-wal");
    CHECK(bytes.find("sam@example.org") == std::string::npos);
    CHECK(bytes.find("7946") == std::string::npos);
}

TEST_CASE("--redact chooses what the log scrubs, none keeps the text, a wrong kind stops chat") {
    const std::string message = R"({"type":"message","text":"back pain, write to sam@example.org or +44 20 7946 0958"})";
    const auto logged_text = [&](const std::string& redact) {
        backtalk::test::TempDir dir;
        const std::string db = quoted((dir / "log.db").string());
        const Run chat = run_backtalk(dir, "chat --json --redact " + redact + " --db " + db, message + "\n");
        REQUIRE_MESSAGE(chat.exit_code == 0, chat.err);
        const Run exported = run_backtalk(dir, "logs export --format jsonl --db " + db);
        REQUIRE_MESSAGE(exported.exit_code == 0, exported.err);
        for (const auto& row : json_lines(exported.out)) {
            if (row.at("direction") == "in" && row.at("kind") == "message") return row.at("text").get<std::string>();
        }
        FAIL("no inbound message in the export");
        return std::string();
    };
    CHECK(logged_text("emails,phones,ids") == "back pain, write to [email] or [phone]");
    CHECK(logged_text("phones") == "back pain, write to sam@example.org or [phone]");
    CHECK(logged_text("none") == "back pain, write to sam@example.org or +44 20 7946 0958");

    backtalk::test::TempDir dir;
    const Run refused = run_backtalk(dir, "chat --json --redact names --db " + quoted((dir / "x.db").string()),
                                     message + "\n");
    CHECK(refused.exit_code != 0);
    CHECK(refused.err.find("--redact takes emails, phones, ids") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir / "x.db"));
}

TEST_CASE("logs list, show, stats and unmatched read what chat wrote") {
    backtalk::test::TempDir dir;
    const std::string db = quoted((dir / "log.db").string());
    REQUIRE(run_backtalk(dir, "chat --json --db " + db, typed_input()).exit_code == 0);

    const Run list = run_backtalk(dir, "logs list --json --db " + db);
    REQUIRE_MESSAGE(list.exit_code == 0, list.err);
    const json conversations = json::parse(list.out);
    REQUIRE(conversations.size() == 1);
    const std::string id = conversations[0].at("id");
    CHECK(conversations[0].at("channel") == "terminal");

    const Run show = run_backtalk(dir, "logs show " + id + " --db " + db);
    REQUIRE_MESSAGE(show.exit_code == 0, show.err);
    CHECK(show.out.find("Conversation " + id) != std::string::npos);
    CHECK(show.out.find("[error bad_choice]") != std::string::npos);
    CHECK(show.out.find("understood:") != std::string::npos);

    const Run stats = run_backtalk(dir, "logs stats --json --db " + db);
    REQUIRE_MESSAGE(stats.exit_code == 0, stats.err);
    CHECK(json::parse(stats.out).at("conversations") == 1);

    const Run unmatched = run_backtalk(dir, "logs unmatched --db " + db);
    CHECK(unmatched.exit_code == 0);

    const Run csv = run_backtalk(dir, "logs export --format csv --level none --db " + db);
    REQUIRE_MESSAGE(csv.exit_code == 0, csv.err);
    CHECK(csv.out.rfind("conversation,seq,", 0) == 0);
}

TEST_CASE("logs reads an older log without changing it, stats ask for logs upgrade, which brings it up to date") {
    backtalk::test::TempDir dir;
    const std::string db = quoted((dir / "log.db").string());
    REQUIRE(run_backtalk(dir, "chat --json --db " + db, typed_input()).exit_code == 0);
    const Run current = run_backtalk(dir, "logs stats --json --db " + db);
    REQUIRE_MESSAGE(current.exit_code == 0, current.err);
    {
        // The same log as an older backtalk wrote it (schema 5): one row per
        // object in a messages table, no basis, no counts on conversations,
        // no review marks, no search index.
        SQLite::Database old(dir / "old.db", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        backtalk::store::migrate(old, 5);
        old.exec("ATTACH DATABASE '" + (dir / "log.db").string() + "' AS current");
        old.exec("INSERT INTO messages SELECT conversation, seq, time, direction, kind, text, code, intents, "
                 "confidence, understood, state, asking, triage_level, triage_reasons, rules_version, channel, "
                 "processing_us FROM current.messages");
        old.exec("INSERT INTO conversations SELECT id, channel, user_hash, started, last_activity, locale, "
                 "outcome_level, outcome_reasons, turns, state, asking FROM current.conversations");
        old.exec("INSERT INTO sessions SELECT * FROM current.sessions");
        old.exec("DETACH DATABASE current");
    }
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(dir / (std::string("log.db") + suffix));
    std::filesystem::rename(dir / "old.db", dir / "log.db");
    // A server of the older version may still be writing it: reading must
    // not migrate it under that server.
    const Run list = run_backtalk(dir, "logs list --json --db " + db);
    REQUIRE_MESSAGE(list.exit_code == 0, list.err);
    CHECK(json::parse(list.out).size() == 1);
    CHECK(json::parse(list.out)[0].at("review").is_null());
    // A log without review marks has nothing reviewed yet.
    CHECK(json::parse(run_backtalk(dir, "logs list --unreviewed --json --db " + db).out).size() == 1);
    CHECK(json::parse(run_backtalk(dir, "logs list --tag x --json --db " + db).out).empty());
    const Run refused = run_backtalk(dir, "logs stats --db " + db);
    CHECK(refused.exit_code != 0);
    CHECK(refused.err.find("schema 5") != std::string::npos);
    CHECK(refused.err.find("backtalk logs upgrade") != std::string::npos);
    CHECK(backtalk::test::query_int(dir / "log.db", "PRAGMA user_version") == 5);

    if (backtalk::test::make_read_only(dir / "log.db")) {
        const Run cannot = run_backtalk(dir, "logs upgrade --db " + db);
        backtalk::test::make_writable(dir / "log.db");
        CHECK(cannot.exit_code != 0);
        CHECK(cannot.err.find("could not upgrade") != std::string::npos);
        CHECK(backtalk::test::query_int(dir / "log.db", "PRAGMA user_version") == 5);
    } else {
        backtalk::test::make_writable(dir / "log.db");
        MESSAGE("read-only case skipped: this system cannot make a file read-only for this user");
    }
    const Run upgrade = run_backtalk(dir, "logs upgrade --db " + db);
    REQUIRE_MESSAGE(upgrade.exit_code == 0, upgrade.err);
    CHECK(upgrade.out.find("schema 5 upgraded to 11") != std::string::npos);
    CHECK(backtalk::test::query_int(dir / "log.db", "PRAGMA user_version") == 11);
    const Run upgraded = run_backtalk(dir, "logs stats --json --db " + db);
    REQUIRE_MESSAGE(upgraded.exit_code == 0, upgraded.err);
    CHECK(json::parse(upgraded.out) == json::parse(current.out));
    CHECK(json::parse(upgraded.out).at("messages_in").get<int>() == static_cast<int>(typed.size()));
    const Run again = run_backtalk(dir, "logs upgrade --db " + db);
    CHECK(again.out.find("schema 11, up to date") != std::string::npos);
}

TEST_CASE("logs commands fail clearly and create nothing on bad input") {
    backtalk::test::TempDir dir;
    const std::string missing = quoted((dir / "missing.db").string());
    for (const std::string command : {"list", "show abc", "stats", "unmatched", "export --format jsonl",
                                      "purge --older-than 30d", "delete abc", "backup /tmp/never", "upgrade"}) {
        const Run run = run_backtalk(dir, "logs " + command + " --db " + missing);
        CHECK_MESSAGE(run.exit_code != 0, command);
        CHECK_MESSAGE(run.err.find("no log database at") != std::string::npos, command);
    }
    CHECK_FALSE(std::filesystem::exists(dir / "missing.db"));

    const std::string db = quoted((dir / "log.db").string());
    REQUIRE(run_backtalk(dir, "chat --json --db " + db, typed_input()).exit_code == 0);
    Run run = run_backtalk(dir, "logs show no-such-id --db " + db);
    CHECK(run.exit_code != 0);
    CHECK(run.err.find("no conversation no-such-id") != std::string::npos);
    run = run_backtalk(dir, "logs purge --older-than 30x --db " + db);
    CHECK(run.exit_code != 0);
    CHECK(run.err.find("bad duration '30x'") != std::string::npos);
    run = run_backtalk(dir, "logs list --level severe --db " + db);
    CHECK(run.exit_code != 0);
    CHECK(run.err.find("unknown level 'severe'") != std::string::npos);
    run = run_backtalk(dir, "logs list --since last-week --db " + db);
    CHECK(run.exit_code != 0);
    CHECK(run.err.find("bad time 'last-week'") != std::string::npos);
    run = run_backtalk(dir, "logs export --format xml --db " + db);
    CHECK(run.exit_code != 0);
    run = run_backtalk(dir, "logs list --channel Terminal --db " + db);
    CHECK(run.exit_code != 0);
    CHECK(run.err.find("unknown channel 'Terminal'") != std::string::npos);
    for (const std::string filter : {"--limit -1", "--since ''", "--level ''", "--channel ''"}) {
        run = run_backtalk(dir, "logs list " + filter + " --db " + db);
        CHECK_MESSAGE(run.exit_code != 0, filter);
        CHECK_MESSAGE(run.out.empty(), filter);
    }
    run = run_backtalk(dir, "logs delete no-such-id --db " + db);
    CHECK(run.exit_code != 0);
    CHECK(run.err.find("no conversation no-such-id") != std::string::npos);
}

TEST_CASE("logs export never writes over the database, and replaces its output only when complete") {
    backtalk::test::TempDir dir;
    const auto db_path = dir / "log.db";
    const std::string db = quoted(db_path.string());
    REQUIRE(run_backtalk(dir, "chat --json --db " + db, typed_input()).exit_code == 0);
    const auto db_bytes = backtalk::test::file_bytes(db_path);
    std::filesystem::create_symlink(db_path, dir / "link.db");
    for (const auto& output : {db_path, dir / "link.db", dir / "log.db-wal", dir / "." / "log.db"}) {
        const Run run = run_backtalk(dir, "logs export --format jsonl -o " + quoted(output.string()) + " --db " + db);
        CHECK_MESSAGE(run.exit_code != 0, output);
        CHECK_MESSAGE(run.err.find("it is the log database") != std::string::npos, run.err);
    }
    CHECK(backtalk::test::file_bytes(db_path) == db_bytes);
    CHECK(json::parse(run_backtalk(dir, "logs list --json --db " + db).out).size() == 1);

    // An existing output is replaced by the whole export; nothing partial is left.
    const auto output = dir / "export.jsonl";
    std::ofstream(output) << "an older export\n";
    Run run = run_backtalk(dir, "logs export --format jsonl -o " + quoted(output.string()) + " --db " + db);
    REQUIRE_MESSAGE(run.exit_code == 0, run.err);
    const std::string to_stdout = run_backtalk(dir, "logs export --format jsonl --db " + db).out;
    CHECK_FALSE(json_lines(to_stdout).empty());
    CHECK(backtalk::test::file_bytes(output) == to_stdout);
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
        CHECK_MESSAGE(entry.path().filename().string().find(".partial-") == std::string::npos, entry.path());
    }
}

TEST_CASE("maintenance commands leave a database that is not a backtalk log untouched") {
    backtalk::test::TempDir dir;
    const auto foreign = dir / "other.db";
    {
        SQLite::Database other(foreign, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        other.exec("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)");
    }
    const auto before = backtalk::test::file_bytes(foreign);
    const std::vector<std::string> commands{"purge --older-than 30d", "delete abc",
                                            "backup " + quoted((dir / "copy.db").string())};
    for (const std::string& command : commands) {
        const Run run = run_backtalk(dir, "logs " + command + " --db " + quoted(foreign.string()));
        CHECK_MESSAGE(run.exit_code != 0, command);
        CHECK_MESSAGE(run.err.find("is not a backtalk log") != std::string::npos, run.err);
    }
    CHECK(backtalk::test::file_bytes(foreign) == before);
    CHECK_FALSE(std::filesystem::exists(dir / "copy.db"));
    CHECK_FALSE(std::filesystem::exists(dir / "other.db-wal"));

    const std::string db = quoted((dir / "log.db").string());
    REQUIRE(run_backtalk(dir, "chat --json --db " + db, typed_input()).exit_code == 0);
    const Run run = run_backtalk(dir, "logs backup '' --db " + db);
    CHECK(run.exit_code != 0);
    CHECK(run.err.find("name the file to back up to") != std::string::npos);
}

TEST_CASE("a log the reviewer may read but not write beside is named as such, not as a write error") {
    backtalk::test::TempDir dir;
    const auto folder = dir / "owned-by-the-server";
    std::filesystem::create_directory(folder);
    const std::string db = quoted((folder / "log.db").string());
    REQUIRE(run_backtalk(dir, "chat --json --db " + db, typed_input()).exit_code == 0);
    REQUIRE_FALSE(std::filesystem::exists(folder / "log.db-shm"));  // a clean close removes it
    // Root may write anywhere: it reviews as nobody, still able to reach
    // the binary and the log (a test tree may sit in a private folder).
    std::string runner;
    if (::geteuid() == 0) {
        runner = "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+dac_read_search "
                 "--ambient-caps=+dac_read_search";
    } else {
        std::filesystem::permissions(folder, std::filesystem::perms::owner_write, std::filesystem::perm_options::remove);
    }
    const auto before = backtalk::test::file_bytes(folder / "log.db");
    const Run run = run_backtalk(dir, "logs list --db " + db, "", runner);
    std::filesystem::permissions(folder, std::filesystem::perms::owner_write, std::filesystem::perm_options::add);
    CHECK(run.exit_code == 1);
    CHECK_MESSAGE(run.err.find("needs write access to its folder") != std::string::npos, run.err);
    CHECK(backtalk::test::file_bytes(folder / "log.db") == before);
}

TEST_CASE("logs show and unmatched print control characters people typed as visible escapes") {
    backtalk::test::TempDir dir;
    const std::string db = quoted((dir / "log.db").string());
    const std::string input = R"({"type":"start"})" "\n"
                              R"({"type":"message","text":"blorp \u001b[2J\u001b]0;pwned\u0007 qq\nforged row\rqq \u009b"})" "\n";
    REQUIRE(run_backtalk(dir, "chat --json --db " + db, input).exit_code == 0);
    const std::string id = json::parse(run_backtalk(dir, "logs list --json --db " + db).out).at(0).at("id");
    const auto raw_control = [](const std::string& text) {
        return std::any_of(text.begin(), text.end(), [](char c) {
            const auto byte = static_cast<unsigned char>(c);
            return (byte < 0x20 && c != '\n') || byte == 0x7f;
        }) || text.find("\xc2\x9b") != std::string::npos;
    };
    Run run = run_backtalk(dir, "logs show " + id + " --db " + db);
    REQUIRE_MESSAGE(run.exit_code == 0, run.err);
    CHECK(!raw_control(run.out));
    CHECK_MESSAGE(run.out.find(R"(blorp \x1b[2J\x1b]0;pwned\x07 qq\nforged row\x0dqq \x9b)") != std::string::npos,
                  run.out);
    // Unmatched texts are grouped lower-cased with their spaces folded.
    run = run_backtalk(dir, "logs unmatched --db " + db);
    REQUIRE_MESSAGE(run.exit_code == 0, run.err);
    CHECK(!raw_control(run.out));
    CHECK_MESSAGE(run.out.find(R"(blorp \x1b[2j\x1b]0;pwned\x07 qq forged row qq \x9b)") != std::string::npos, run.out);
    // --json keeps the text as it was typed, JSON-escaped.
    const json transcript = json::parse(run_backtalk(dir, "logs show " + id + " --json --db " + db).out);
    CHECK(transcript.dump().find(R"(\u001b[2J)") != std::string::npos);
}

TEST_CASE("output that cannot be written (a full disk) is an error, not a success") {
    backtalk::test::TempDir dir;
    const std::string db = quoted((dir / "log.db").string());
    REQUIRE(run_backtalk(dir, "chat --json --db " + db, typed_input()).exit_code == 0);
    for (const std::string command : {"logs list", "logs stats", "logs unmatched", "logs export --format csv"}) {
        const std::string line = quoted(BACKTALK_BINARY) + " " + command + " --db " + db + " > /dev/full 2> " +
                                 quoted((dir / "stderr").string());
        const int status = std::system(line.c_str());
        CHECK_MESSAGE((WIFEXITED(status) && WEXITSTATUS(status) != 0), command);
        CHECK_MESSAGE(backtalk::test::file_bytes(dir / "stderr").find("failed") != std::string::npos, command);
    }
}

TEST_CASE("a reader that goes away early loses chat --json nothing: every turn is logged, and the exit status says 1") {
    backtalk::test::TempDir dir;
    const auto db = dir / "log.db";
    std::string input = typed_input();
    // Far more answer than a pipe holds, so writes fail after the reader left.
    for (int i = 0; i < 300; ++i) input += R"({"type":"message","text":"what causes this"})" "\n";
    {
        std::ofstream in(dir / "stdin");
        in << input;
    }
    const std::string command = "cd " + quoted(BACKTALK_SOURCE_DIR) + " && (env -u BACKTALK_DB " +
                                quoted(BACKTALK_BINARY) + " chat --json --db " + quoted(db.string()) + " < " +
                                quoted((dir / "stdin").string()) + " 2> " + quoted((dir / "stderr").string()) +
                                "; echo $? > " + quoted((dir / "status").string()) + ") | head -c 1 > /dev/null";
    REQUIRE(std::system(command.c_str()) == 0);
    CHECK(backtalk::test::file_bytes(dir / "status") == "1\n");
    CHECK(backtalk::test::file_bytes(dir / "stderr").find("writing to standard output failed") != std::string::npos);
    const Run exported = run_backtalk(dir, "logs export --format jsonl --db " + quoted(db.string()));
    REQUIRE(exported.exit_code == 0);
    std::size_t inbound = 0;
    for (const json& row : json_lines(exported.out)) inbound += row.at("direction") == "in";
    CHECK(inbound == typed.size() + 300);
}

TEST_CASE("logs backup, delete and purge") {
    backtalk::test::TempDir dir;
    const std::string db = quoted((dir / "log.db").string());
    REQUIRE(run_backtalk(dir, "chat --json --db " + db, typed_input()).exit_code == 0);
    const std::string id = json::parse(run_backtalk(dir, "logs list --json --db " + db).out).at(0).at("id");

    const std::string backup = quoted((dir / "copy.db").string());
    Run run = run_backtalk(dir, "logs backup " + backup + " --db " + db);
    REQUIRE_MESSAGE(run.exit_code == 0, run.err);
    CHECK(run.out.find("quick_check ok") != std::string::npos);
    run = run_backtalk(dir, "logs backup " + backup + " --db " + db);
    CHECK(run.exit_code != 0);
    CHECK(run.err.find("exists") != std::string::npos);

    run = run_backtalk(dir, "logs delete " + id + " --db " + db);
    REQUIRE_MESSAGE(run.exit_code == 0, run.err);
    CHECK(json::parse(run_backtalk(dir, "logs list --json --db " + db).out).empty());
    // The backup still has it: restore by reading the copy.
    CHECK(json::parse(run_backtalk(dir, "logs list --json --db " + backup).out).size() == 1);

    run = run_backtalk(dir, "logs purge --older-than 1000w --db " + backup);
    REQUIRE_MESSAGE(run.exit_code == 0, run.err);
    CHECK(run.out.find("purged 0 conversations") != std::string::npos);
    // Once the conversation is more than a second old, a 1s retention takes it.
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    run = run_backtalk(dir, "logs purge --older-than 1s --db " + backup);
    REQUIRE_MESSAGE(run.exit_code == 0, run.err);
    CHECK(run.out.find("purged 1 conversation ") != std::string::npos);
    CHECK(json::parse(run_backtalk(dir, "logs list --json --db " + backup).out).empty());
}

TEST_CASE("under umask 022 the log chat writes, a backup and an export are readable by their owner only") {
    backtalk::test::TempDir dir;
    const backtalk::test::UmaskGuard umask(022);
    const std::string db = quoted((dir / "log.db").string());
    REQUIRE(run_backtalk(dir, "chat --json --db " + db, typed_input()).exit_code == 0);
    Run run = run_backtalk(dir, "logs backup " + quoted((dir / "copy.db").string()) + " --db " + db);
    REQUIRE_MESSAGE(run.exit_code == 0, run.err);
    run = run_backtalk(dir, "logs export --format csv -o " + quoted((dir / "export.csv").string()) + " --db " + db);
    REQUIRE_MESSAGE(run.exit_code == 0, run.err);
    for (const char* name : {"log.db", "hash.key", "copy.db", "export.csv"}) {
        CHECK_MESSAGE(backtalk::test::file_mode(dir / name) == 0600, name);
    }
}

TEST_CASE("without --db, logs names the default database it reads and never creates it") {
    backtalk::test::TempDir dir;
    const std::string here = dir.path().string();
    const std::string default_db = (dir / "data" / "backtalk.db").string();
    Run run = run_backtalk(dir, "logs list", "", "", here);
    CHECK(run.exit_code != 0);
    CHECK_MESSAGE(run.err.find("log database " + default_db + " (the default") != std::string::npos, run.err);
    CHECK(run.err.find("no log database at") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir / "data"));

    const std::string rules = quoted(std::string(BACKTALK_SOURCE_DIR) + "/rules");
    REQUIRE(run_backtalk(dir, "chat --json --rules " + rules, typed_input(), "", here).exit_code == 0);
    run = run_backtalk(dir, "logs list --json", "", "", here);
    REQUIRE_MESSAGE(run.exit_code == 0, run.err);
    CHECK(json::parse(run.out).size() == 1);
    CHECK_MESSAGE(run.err.find("log database " + default_db + " (the default") != std::string::npos, run.err);

    run = run_backtalk(dir, "logs stats --db " + quoted(default_db), "", "", here);
    REQUIRE_MESSAGE(run.exit_code == 0, run.err);
    CHECK(run.err.find("log database " + default_db + "\n") != std::string::npos);
}

TEST_CASE("logs stats --limit counts the newest conversations only") {
    backtalk::test::TempDir dir;
    const std::string db = quoted((dir / "log.db").string());
    for (int i = 0; i < 3; ++i) REQUIRE(run_backtalk(dir, "chat --json --db " + db, typed_input()).exit_code == 0);
    Run run = run_backtalk(dir, "logs stats --json --db " + db);
    REQUIRE_MESSAGE(run.exit_code == 0, run.err);
    CHECK(json::parse(run.out).at("conversations") == 3);
    run = run_backtalk(dir, "logs stats --json --limit 2 --db " + db);
    REQUIRE_MESSAGE(run.exit_code == 0, run.err);
    CHECK(json::parse(run.out).at("conversations") == 2);
}

TEST_CASE("--db and BACKTALK_DB take a path or a PostgreSQL URL, another URL is refused and creates nothing") {
    backtalk::test::TempDir dir;
    const std::string here = dir.path().string();
    const auto created_nothing = [&] {
        std::vector<std::string> names;
        for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
            const std::string name = entry.path().filename().string();
            if (name != "stdin" && name != "stdout" && name != "stderr") names.push_back(name);
        }
        return names.empty();
    };

    SUBCASE("a flag with another scheme names the accepted forms, never the password") {
        const Run chat = run_backtalk(dir, "chat --json --db mysql://sam:secret@db.example.org/log",
                                      R"({"type":"start"})" "\n", "", here);
        CHECK(chat.exit_code != 0);
        CHECK(chat.err.find("'mysql://...' is not a database backtalk can use") != std::string::npos);
        CHECK(chat.err.find("postgresql://") != std::string::npos);
        CHECK(chat.err.find("file path") != std::string::npos);
        CHECK(chat.err.find("secret") == std::string::npos);
        CHECK(created_nothing());
    }
    SUBCASE("the environment variable is checked the same way") {
        const Run list = run_backtalk(dir, "logs list", "", "env BACKTALK_DB=sqlite:///tmp/x.db", here);
        CHECK(list.exit_code != 0);
        CHECK(list.err.find("'sqlite://...' is not a database backtalk can use") != std::string::npos);
        CHECK(created_nothing());
    }
    SUBCASE("a PostgreSQL URL is taken for PostgreSQL, never for a folder named postgresql:") {
        const auto& server = backtalk::test::shared_postgres_server();
        backtalk::store::pg::PgConnection(server.url()).exec("CREATE DATABASE cli_test");
        const std::string url = server.url("cli_test");
        // The key from the environment: no hash.key file anywhere.
        const std::string env = "env BACKTALK_HASH_KEY=cli-test-key";
        const std::string rules = " --rules " + quoted(std::string(BACKTALK_SOURCE_DIR) + "/rules");
        const Run chat = run_backtalk(dir, "chat --json --db " + quoted(url) + rules,
                                      R"({"type":"start"})" "\n" R"({"type":"message","text":"my back hurts"})" "\n",
                                      env, here);
        REQUIRE_MESSAGE(chat.exit_code == 0, chat.err);
        CHECK(created_nothing());
        // postgres:// names the same database.
        const std::string same = "postgres" + url.substr(std::string("postgresql").size());
        const Run list = run_backtalk(dir, "logs list --json --db " + quoted(same), "", env, here);
        REQUIRE_MESSAGE(list.exit_code == 0, list.err);
        const json conversations = json::parse(list.out);
        REQUIRE(conversations.size() == 1);
        CHECK(conversations[0]["channel"] == "terminal");
        CHECK(list.err.find("backtalk: log database postgres://") != std::string::npos);
        const Run show = run_backtalk(dir, "logs show --json " + conversations[0]["id"].get<std::string>() +
                                               " --db " + quoted(url), "", env, here);
        REQUIRE_MESSAGE(show.exit_code == 0, show.err);
        CHECK(show.out.find("my back hurts") != std::string::npos);
        const Run backup = run_backtalk(dir, "logs backup " + quoted((dir / "copy.db").string()) + " --db " +
                                                 quoted(url), "", env, here);
        CHECK(backup.exit_code != 0);
        CHECK(backup.err.find("pg_dump") != std::string::npos);
        CHECK(created_nothing());
    }
}

TEST_CASE("logs show, the JSON-lines and the CSV export name the rule behind a level: EM-1 for saddle numbness with new bladder trouble") {
    backtalk::test::TempDir dir;
    const std::string db = quoted((dir / "log.db").string());
    const std::string input = R"({"type":"start"})" "\n"
                              R"({"type":"message","text":"my lower back hurts since I lifted a box"})" "\n"
                              R"({"type":"message","text":"no"})" "\n"
                              R"({"type":"message","text":"I can't feel the toilet paper when I wipe and I've been leaking urine"})" "\n";
    const Run chat = run_backtalk(dir, "chat --json --db " + db, input);
    REQUIRE_MESSAGE(chat.exit_code == 0, chat.err);
    const Run list = run_backtalk(dir, "logs list --json --db " + db);
    REQUIRE_MESSAGE(list.exit_code == 0, list.err);
    const json conversations = json::parse(list.out);
    REQUIRE(conversations.size() == 1);
    REQUIRE(conversations[0]["outcome"]["level"] == "emergency");
    const std::string id = conversations[0]["id"];

    const Run show = run_backtalk(dir, "logs show " + id + " --db " + db);
    REQUIRE_MESSAGE(show.exit_code == 0, show.err);
    CHECK_MESSAGE(show.out.find("because EM-1 (emergency)") != std::string::npos, show.out);
    CHECK(show.out.find("saddle_numbness=yes @turn 3") != std::string::npos);

    const Run exported = run_backtalk(dir, "logs export --format jsonl --db " + db);
    REQUIRE_MESSAGE(exported.exit_code == 0, exported.err);
    bool named = false;
    for (const json& row : json_lines(exported.out)) {
        for (const json& rule : row.at("basis")) {
            if (rule.at("rule") != "EM-1") continue;
            named = true;
            CHECK(row.at("triage").at("level") == "emergency");
            CHECK(rule.at("level") == "emergency");
            const json& facts = rule.at("facts");
            CHECK(std::any_of(facts.begin(), facts.end(), [](const json& fact) {
                return fact.at("slot") == "saddle_numbness" && fact.at("value") == "yes" && fact.at("turn") == 3;
            }));
        }
    }
    CHECK_MESSAGE(named, exported.out);

    const Run csv = run_backtalk(dir, "logs export --format csv --db " + db);
    REQUIRE_MESSAGE(csv.exit_code == 0, csv.err);
    CHECK(csv.out.substr(0, csv.out.find('\r')).find(",basis") != std::string::npos);
    CHECK(csv.out.find("EM-1 (emergency): ") != std::string::npos);
}
