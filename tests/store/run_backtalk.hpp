// Runs the `backtalk` binary for the end-to-end log tests, and the
// conversation they type into `chat --json`.
#pragma once

#include "store_test_support.hpp"

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace backtalk::test {

struct Run {
    int exit_code = -1;
    std::string out;
    std::string err;
};

inline std::string quoted(const std::string& text) {
    std::string result = "'";
    for (char c : text) {
        if (c == '\'') {
            result += "'\\''";
        } else {
            result += c;
        }
    }
    return result + "'";
}

// Runs `backtalk ARGS < input` from the source tree (or `working_dir`),
// capturing both streams; `runner` is a command (and its arguments) to run
// backtalk through.
inline Run run_backtalk(const backtalk::test::TempDir& dir, const std::string& args, const std::string& input = "",
                 const std::string& runner = "", const std::string& working_dir = BACKTALK_SOURCE_DIR) {
    {
        std::ofstream in(dir / "stdin");
        in << input;
    }
    const std::string command = "cd " + quoted(working_dir) + " && env -u BACKTALK_DB " + runner + " " +
                                quoted(BACKTALK_BINARY) + " " + args + " < " + quoted((dir / "stdin").string()) +
                                " > " + quoted((dir / "stdout").string()) + " 2> " +
                                quoted((dir / "stderr").string());
    const int status = std::system(command.c_str());
    Run run;
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.out = backtalk::test::file_bytes(dir / "stdout");
    run.err = backtalk::test::file_bytes(dir / "stderr");
    return run;
}

inline const std::vector<std::string> typed{
    R"({"type":"start"})",
    R"({"type":"message","text":"my lower back hurts since I moved house, I am sam@example.org, +44 20 7946 0958"})",
    R"({"type":"choice","id":"not-offered"})",
    R"({"type":"choice","id":"none"})",
    R"(this is not json)",
    R"({"type":"message","text":"no"})",
};

inline std::string typed_input() {
    std::string input;
    for (const auto& line : typed) input += line + "\n";
    return input;
}

}  // namespace backtalk::test
