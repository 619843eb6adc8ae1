// Checks on what reviewers write: tags and notes of a review mark, and tags
// as typed on a command line or in a form.
#include "store/review.hpp"

#include <algorithm>
#include <stdexcept>

namespace backtalk::store::review {

namespace {

void check_tag(const std::string& tag) {
    const bool well_formed = !tag.empty() && tag.size() <= max_tag_length &&
                             std::all_of(tag.begin(), tag.end(), [](char c) {
                                 return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
                             });
    if (!well_formed) {
        throw std::invalid_argument("bad tag '" + tag + "': use 1 to " + std::to_string(max_tag_length) +
                                    " characters of a-z, 0-9, - and _, e.g. follow-up");
    }
}

}  // namespace

void validate(const ReviewMark& mark) {
    if (mark.conversation.empty()) throw std::invalid_argument("name the conversation to mark reviewed");
    if (mark.tags.size() > max_tags) {
        throw std::invalid_argument("too many tags (" + std::to_string(mark.tags.size()) + "); at most " +
                                    std::to_string(max_tags));
    }
    for (std::size_t i = 0; i < mark.tags.size(); ++i) {
        check_tag(mark.tags[i]);
        if (std::find(mark.tags.begin(), mark.tags.begin() + static_cast<std::ptrdiff_t>(i), mark.tags[i]) !=
            mark.tags.begin() + static_cast<std::ptrdiff_t>(i)) {
            throw std::invalid_argument("the tag '" + mark.tags[i] + "' is given twice");
        }
    }
    if (mark.note.size() > max_note_bytes) {
        throw std::invalid_argument("the note is " + std::to_string(mark.note.size()) + " bytes long; at most " +
                                    std::to_string(max_note_bytes));
    }
}

void validate_tag(const std::string& tag) { check_tag(tag); }

std::vector<std::string> search_words(std::string_view text) {
    constexpr std::size_t max_words = 20;
    std::vector<std::string> words;
    std::string current;
    const auto finish = [&] {
        if (!current.empty()) words.push_back(std::move(current));
        current.clear();
    };
    for (char c : text) {
        // Bytes of UTF-8 beyond ASCII belong to words (letters with accents).
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
            current.push_back(c);
        } else {
            finish();
        }
    }
    finish();
    if (words.empty()) throw std::invalid_argument("the search has no words: give one or more words to look for");
    if (words.size() > max_words) {
        throw std::invalid_argument("the search has " + std::to_string(words.size()) + " words; at most " +
                                    std::to_string(max_words));
    }
    return words;
}

std::vector<std::string> parse_tags(std::string_view text) {
    std::vector<std::string> tags;
    std::string current;
    const auto finish = [&] {
        if (!current.empty()) tags.push_back(std::move(current));
        current.clear();
    };
    for (char c : text) {
        if (c == ',' || c == ' ' || c == '\t' || c == '\n') {
            finish();
        } else {
            current.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
        }
    }
    finish();
    return tags;
}

}  // namespace backtalk::store::review
