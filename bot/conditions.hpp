// Conditions over slots in three-valued (Kleene) logic: a rule can be known
// true, known false, or still open because a slot has not been asked yet.
#pragma once

#include "bot/ruleset.hpp"
#include "bot/session.hpp"

#include <map>
#include <set>
#include <string>

namespace backtalk {

enum class Truth { no, unknown, yes };

Truth evaluate(const Condition& condition, const Slots& slots);
// Leaves that are true: how specific a matching rule is.
int true_leaves(const Condition& condition, const Slots& slots);
// Slots of the leaves that are true: the facts a matching rule used.
void true_slots(const Condition& condition, const Slots& slots, std::set<std::string>& out);
// Slots a condition reads.
void referenced_slots(const Condition& condition, std::set<std::string>& out);

}  // namespace backtalk
