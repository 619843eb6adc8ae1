#include "store/user_hash.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace backtalk::store {

namespace {

constexpr std::size_t key_bytes = 32;

std::string to_hex(const unsigned char* data, std::size_t size) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        hex += digits[data[i] >> 4];
        hex += digits[data[i] & 0x0f];
    }
    return hex;
}

std::string trimmed(std::string text) {
    const auto is_space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
    while (!text.empty() && is_space(text.back())) text.pop_back();
    std::size_t start = 0;
    while (start < text.size() && is_space(text[start])) ++start;
    return text.substr(start);
}

// Creates the key file only if it does not exist yet, so two processes
// starting together cannot overwrite each other's key.
bool create_key_file(const std::filesystem::path& path, const std::string& key) {
    std::error_code ec;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    const std::string line = key + "\n";
    const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    const bool synced = ::fsync(fd) == 0;
    ::close(fd);
    if (!written || !synced) {
        std::filesystem::remove(path, ec);
        return false;
    }
    return true;
}

std::string read_key_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) return {};
    std::ostringstream text;
    text << in.rdbuf();
    return trimmed(text.str());
}

}  // namespace

std::string random_hex(std::size_t bytes) {
    std::vector<unsigned char> buffer(bytes);
    std::size_t filled = 0;
    while (filled < bytes) {
        const ssize_t got = getrandom(buffer.data() + filled, bytes - filled, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), "getrandom");
        }
        filled += static_cast<std::size_t>(got);
    }
    return to_hex(buffer.data(), buffer.size());
}

UserHasher::UserHasher(std::string key) : key_(std::move(key)) {
    if (key_.empty()) throw std::invalid_argument("the user hash key is empty");
}

UserHasher UserHasher::from_environment(const std::filesystem::path& key_file) {
    if (const char* from_env = std::getenv("BACKTALK_HASH_KEY"); from_env && *from_env) {
        return UserHasher(from_env);
    }
    if (std::string key = read_key_file(key_file); !key.empty()) return UserHasher(std::move(key));
    std::string fresh = random_hex(key_bytes);
    if (create_key_file(key_file, fresh)) return UserHasher(std::move(fresh));
    // Another process may have created it meanwhile.
    if (std::string key = read_key_file(key_file); !key.empty()) return UserHasher(std::move(key));
    UserHasher hasher(std::move(fresh));
    hasher.warning_ = "cannot read or create the hash key file " + key_file.string() +
                      "; set BACKTALK_HASH_KEY: user hashes will change at restart";
    return hasher;
}

std::string UserHasher::hash(std::string_view channel, std::string_view user_id) const {
    std::string input;
    input.reserve(channel.size() + 1 + user_id.size());
    input.append(channel);
    input += '\0';
    input.append(user_id);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_size = 0;
    const unsigned char* result =
        HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
             reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest, &digest_size);
    if (result == nullptr) throw std::runtime_error("HMAC-SHA256 failed");
    return to_hex(digest, digest_size);
}

}  // namespace backtalk::store
