// Loading, validating and compiling rules/<locale>/. The compiled RuleSet is
// immutable; a reload builds a new one and swaps the pointer.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace backtalk {

class RuleSet;

struct RuleError {
    std::string file;     // e.g. rules/en/flow.json
    std::string path;     // JSON path, e.g. states.screening.next
    std::string message;  // what is wrong
    std::string to_string() const;  // "file: path: message"
};

struct RuleLoad {
    std::shared_ptr<const RuleSet> rules;  // null when errors is not empty
    std::vector<RuleError> errors;
};

// Compiles rules from file contents (name -> text, e.g. "lexicon.json").
// `label` prefixes file names in errors (usually the directory).
RuleLoad compile_rules(const std::map<std::string, std::string>& files, const std::string& label);

// Reads every *.json file of a locale directory (rules/en) and compiles them.
RuleLoad load_rules(const std::filesystem::path& locale_dir);

// A one-line summary for `backtalk rules check`: counts of topics, rules, ...
std::string summary(const RuleSet& rules);
std::string version(const RuleSet& rules);

}  // namespace backtalk
