#include "adapters/server/channel_secrets.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <array>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace backtalk::server {

namespace {

std::string to_hex(const unsigned char* bytes, std::size_t size) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        hex += digits[bytes[i] >> 4];
        hex += digits[bytes[i] & 0x0f];
    }
    return hex;
}

std::string_view trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

using Digest = std::array<unsigned char, SHA256_DIGEST_LENGTH>;

Digest sha256(std::string_view data) {
    Digest digest{};
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data());
    return digest;
}

}  // namespace

std::string load_secret(const char* env_name, const std::string& file) {
    if (!file.empty()) {
        std::ifstream in(file, std::ios::binary);
        if (!in) throw std::runtime_error("cannot read the secret file " + file);
        const std::string content{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        const auto secret = trim(content);
        if (secret.empty()) throw std::runtime_error("the secret file " + file + " is empty");
        return std::string(secret);
    }
    const char* value = std::getenv(env_name);
    return value ? std::string(trim(value)) : std::string();
}

bool secrets_equal(std::string_view a, std::string_view b) {
    const Digest left = sha256(a);
    const Digest right = sha256(b);
    return CRYPTO_memcmp(left.data(), right.data(), left.size()) == 0;
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int length = 0;
    if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
              reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &length)) {
        throw std::runtime_error("HMAC-SHA256 failed");
    }
    return to_hex(mac.data(), length);
}

std::string sha256_hex(std::string_view data) {
    const Digest digest = sha256(data);
    return to_hex(digest.data(), digest.size());
}

bool is_valid_telegram_secret(std::string_view secret) {
    if (secret.empty() || secret.size() > 256) return false;
    for (const char c : secret) {
        const bool allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                             c == '_' || c == '-';
        if (!allowed) return false;
    }
    return true;
}

}  // namespace backtalk::server
