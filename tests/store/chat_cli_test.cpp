// `backtalk chat` for a person: the level banner and the error notes are the
// rules' words (rules/en/texts.json), as in every other channel.
#include "store_test_support.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

namespace {

std::string rules_text(const std::string& key) {
    std::ifstream in(std::filesystem::path(BACKTALK_SOURCE_DIR) / "rules" / "en" / "texts.json");
    const auto texts = nlohmann::json::parse(in, nullptr, true, /*ignore_comments=*/true);
    return texts.at("texts").at(key).get<std::string>();
}

}  // namespace

TEST_CASE("backtalk chat shows the rules' level title as its banner and their error texts") {
    backtalk::test::TempDir dir;
    std::ofstream(dir / "stdin") << "my lower back hurts since I lifted boxes yesterday\n"
                                 << "   \n"
                                 << "since last night I'm numb around my bottom and I can't pee properly\n";
    const std::string command = "cd '" BACKTALK_SOURCE_DIR "' && env -u BACKTALK_DB '" BACKTALK_BINARY
                                "' chat --db '" + (dir / "chat.db").string() + "' < '" + (dir / "stdin").string() +
                                "' > '" + (dir / "stdout").string() + "' 2> '" + (dir / "stderr").string() + "'";
    const int status = std::system(command.c_str());
    REQUIRE_MESSAGE(WIFEXITED(status), backtalk::test::file_bytes(dir / "stderr"));
    CHECK(WEXITSTATUS(status) == 0);
    const std::string out = backtalk::test::file_bytes(dir / "stdout");

    std::string banner = rules_text("level_title_emergency");
    std::transform(banner.begin(), banner.end(), banner.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    CHECK_MESSAGE(out.find("=== " + banner + " ===") != std::string::npos, out);
    CHECK(out.find("(" + rules_text("error_empty") + ")") != std::string::npos);
    CHECK(out.find("**") == std::string::npos);
}
