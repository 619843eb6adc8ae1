// Keyed hashes of channel user ids (HMAC-SHA256), so the log can tell that two
// conversations came from the same chat without storing who it was.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace backtalk::store {

class UserHasher {
public:
    explicit UserHasher(std::string key);

    // The key from BACKTALK_HASH_KEY, else from `key_file`, which is created
    // with a fresh random key (mode 0600) when missing. When the file can
    // neither be read nor created, a random key for this process only is used
    // and warning() says so: hashes then differ across restarts.
    static UserHasher from_environment(const std::filesystem::path& key_file);

    // Hex HMAC-SHA256 of channel and user id; the channel is part of the
    // input so that the same number on two channels gives two hashes.
    std::string hash(std::string_view channel, std::string_view user_id) const;

    const std::string& warning() const { return warning_; }

private:
    std::string key_;
    std::string warning_;
};

// Hex-encoded random bytes from the operating system.
std::string random_hex(std::size_t bytes);

}  // namespace backtalk::store
