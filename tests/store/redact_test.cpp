#include "store/redact.hpp"

#include <doctest/doctest.h>

using backtalk::store::redact;
using backtalk::store::RedactionOptions;

TEST_CASE("redaction replaces e-mail addresses") {
    const RedactionOptions all;
    CHECK(redact("write to alice.smith+back@example.co.uk please", all) == "write to [email] please");
    CHECK(redact("Mail:bob@mail.example.org.", all) == "Mail:[email].");
    CHECK(redact("a@b.cd and c_d@e-f.gh", all) == "[email] and [email]");
    // Not addresses: no domain, no top-level domain, an @ mention.
    CHECK(redact("meet @ noon, me@home, @someone", all) == "meet @ noon, me@home, @someone");
}

TEST_CASE("redaction replaces phone numbers in common formats") {
    const RedactionOptions all;
    CHECK(redact("call +44 20 7946 0958 today", all) == "call [phone] today");
    CHECK(redact("(030) 1234-567", all) == "[phone]");
    CHECK(redact("my number is 555.123.4567.", all) == "my number is [phone].");
    CHECK(redact("07700900123", all) == "[phone]");
    CHECK(redact("+1-202-555-0143, thanks", all) == "[phone], thanks");
}

TEST_CASE("redaction keeps pain scores, durations, ages and dates") {
    const RedactionOptions all;
    for (const char* text : {"pain is 7/10", "for 3 weeks and 2 days", "I am 45 years old",
                             "since 2024-05-01", "on 01/05/2024", "about 120000 steps", "at 10:30"}) {
        CHECK(redact(text, all) == text);
    }
}

TEST_CASE("redaction replaces identifiers and long digit runs") {
    const RedactionOptions all;
    CHECK(redact("IBAN DE89370400440532013000 ok", all) == "IBAN [id] ok");
    CHECK(redact("card 4111 1111 1111 1111", all) == "card [id]");
    CHECK(redact("patient AB123456C", all) == "patient [id]");
    CHECK(redact("model X5 is fine", all) == "model X5 is fine");
}

TEST_CASE("each kind of redaction can be switched off") {
    RedactionOptions options;
    options.emails = false;
    CHECK(redact("a@b.cd 020 7946 0958", options) == "a@b.cd [phone]");
    options = RedactionOptions{};
    options.phones = false;
    CHECK(redact("a@b.cd 020 7946 0958", options) == "[email] 020 7946 0958");
    options = RedactionOptions{};
    options.identifiers = false;
    CHECK(redact("AB123456C", options) == "AB123456C");
}

TEST_CASE("redaction leaves other text, including UTF-8, untouched") {
    const RedactionOptions all;
    CHECK(redact("", all).empty());
    CHECK(redact("Rückenschmerzen seit 3 Tagen, 腰痛 😣", all) == "Rückenschmerzen seit 3 Tagen, 腰痛 😣");
    CHECK(redact("numbers 1234567ab stay joined", all) == "numbers [id] stay joined");
    CHECK(redact("ends with 0201234567", all) == "ends with [phone]");
}
