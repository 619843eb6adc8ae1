// How `backtalk logs` prints the review queries' JSON for people: tables,
// transcripts and summaries, with what people typed made visible (control
// characters as escapes) first.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace backtalk::cli {

// Every string in `value` with control characters (C0, DEL, C1) as visible
// escapes: what people typed may hold sequences that clear a terminal or
// forge rows.
nlohmann::json visible(nlohmann::json value);

void print_list(const nlohmann::json& conversations);
void print_transcript(const nlohmann::json& transcript);
void print_stats(const nlohmann::json& stats);
void print_unmatched(const nlohmann::json& groups);

}  // namespace backtalk::cli
