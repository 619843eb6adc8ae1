// Secrets of the channel endpoints (Telegram, REST): where they come from,
// how they are compared and how request signatures are computed. Secrets are
// read from the environment or a file, never from a flag's value, and never
// logged.
#pragma once

#include <string>
#include <string_view>

namespace backtalk::server {

// The secret in `file` when a file is named (flags override the
// environment), else the value of the environment variable `env_name`, else
// empty. Surrounding whitespace and the trailing newline are dropped. Throws
// std::runtime_error naming the file when it cannot be read or holds nothing.
std::string load_secret(const char* env_name, const std::string& file);

// Compares in time that depends on neither the contents nor the lengths:
// both sides are hashed with SHA-256 and the digests compared with
// CRYPTO_memcmp.
bool secrets_equal(std::string_view a, std::string_view b);

// Lower-case hex of HMAC-SHA256(key, data), as `openssl dgst -sha256 -hmac`
// prints it.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
// Lower-case hex of SHA-256(data).
std::string sha256_hex(std::string_view data);

// Telegram accepts 1 to 256 characters of A-Z, a-z, 0-9, '_' and '-' as a
// webhook secret_token.
bool is_valid_telegram_secret(std::string_view secret);

}  // namespace backtalk::server
