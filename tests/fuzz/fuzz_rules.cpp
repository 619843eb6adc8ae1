// A broken rules file never crashes the loader: the input replaces one of the
// rule files (chosen by its first byte) and must load or give errors.
#include "bot/rules.hpp"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>

namespace {

const std::map<std::string, std::string>& real_files() {
    static const std::map<std::string, std::string> files = [] {
        std::map<std::string, std::string> out;
        for (const auto& entry : std::filesystem::directory_iterator(std::string(BACKTALK_SOURCE_DIR) + "/rules/en")) {
            std::ifstream in(entry.path(), std::ios::binary);
            std::ostringstream text;
            text << in.rdbuf();
            out[entry.path().filename().string()] = text.str();
        }
        return out;
    }();
    return files;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    auto files = real_files();
    auto target = files.begin();
    std::advance(target, data[0] % files.size());
    target->second.assign(reinterpret_cast<const char*>(data + 1), size - 1);
    const backtalk::RuleLoad load = backtalk::compile_rules(files, "fuzz");
    if (!load.rules && load.errors.empty()) std::abort();  // a refusal always says why
    for (const auto& error : load.errors) {
        if (error.file.empty() || error.message.empty()) std::abort();
    }
    return 0;
}
