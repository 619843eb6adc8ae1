// JSON written straight into one string rather than built as a nlohmann tree
// and dumped: the replies of a turn on the network thread and the log's JSON
// columns on the writer thread, where the tree cost more than the engine's
// turn. The bytes are the same as nlohmann's dump(-1, ' ', false, replace)
// (tests/unit compares them).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace backtalk {

class JsonWriter {
public:
    explicit JsonWriter(std::size_t expected_size) { out_.reserve(expected_size); }

    void key(std::string_view name);
    // A key the caller knows needs no escaping (a constant name), written as
    // it is: the log writer writes a dozen per object.
    void plain_key(std::string_view name);
    void string(std::string_view text);
    void string_or_null(std::string_view text);
    void number(std::int64_t value);
    // As nlohmann writes a double: the shortest text that reads back the
    // same, with ".0" on whole numbers.
    void decimal(double value);
    void boolean(bool value);
    void literal(std::string_view text);
    void open(char bracket);
    void close(char bracket);
    void strings(const std::vector<std::string>& values);
    std::string take() { return std::move(out_); }

private:
    void separate();

    std::string out_;
    bool first_ = true;
};

// ["a","b"] for a list of strings.
std::string json_string_array(const std::vector<std::string>& values);

}  // namespace backtalk
