#include "bot/conditions.hpp"

namespace backtalk {

namespace {

// "unsure" is a recorded answer that still leaves the slot open.
const SlotValue* known_value(const Slots& slots, const std::string& name) {
    const auto it = slots.find(name);
    if (it == slots.end()) return nullptr;
    if (const auto* text = std::get_if<std::string>(&it->second); text && *text == "unsure") return nullptr;
    return &it->second;
}

Truth from_bool(bool b) { return b ? Truth::yes : Truth::no; }

}  // namespace

Truth evaluate(const Condition& c, const Slots& slots) {
    switch (c.op) {
        case Condition::Op::all: {
            Truth result = Truth::yes;
            for (const auto& child : c.children) {
                const Truth t = evaluate(child, slots);
                if (t == Truth::no) return Truth::no;
                if (t == Truth::unknown) result = Truth::unknown;
            }
            return result;
        }
        case Condition::Op::any: {
            Truth result = Truth::no;
            for (const auto& child : c.children) {
                const Truth t = evaluate(child, slots);
                if (t == Truth::yes) return Truth::yes;
                if (t == Truth::unknown) result = Truth::unknown;
            }
            return result;
        }
        case Condition::Op::negate: {
            const Truth t = evaluate(c.children.front(), slots);
            return t == Truth::unknown ? t : from_bool(t == Truth::no);
        }
        case Condition::Op::known:
            return from_bool(known_value(slots, c.slot) != nullptr);
        case Condition::Op::yes:
        case Condition::Op::no:
        case Condition::Op::is: {
            const SlotValue* v = known_value(slots, c.slot);
            if (!v && c.closed) return from_bool(c.op == Condition::Op::no);
            if (!v) return Truth::unknown;
            const auto* text = std::get_if<std::string>(v);
            if (!text) return Truth::no;
            const std::string_view wanted = c.op == Condition::Op::yes  ? std::string_view("yes")
                                            : c.op == Condition::Op::no ? std::string_view("no")
                                                                        : std::string_view(c.text);
            return from_bool(*text == wanted);
        }
        case Condition::Op::at_least:
        case Condition::Op::below: {
            const SlotValue* v = known_value(slots, c.slot);
            if (!v) return c.closed ? Truth::no : Truth::unknown;
            const auto* number = std::get_if<double>(v);
            if (!number) return Truth::no;
            return from_bool(c.op == Condition::Op::at_least ? *number >= c.number : *number < c.number);
        }
    }
    return Truth::unknown;
}

int true_leaves(const Condition& c, const Slots& slots) {
    switch (c.op) {
        case Condition::Op::all:
        case Condition::Op::any: {
            int n = 0;
            for (const auto& child : c.children) n += true_leaves(child, slots);
            return n;
        }
        case Condition::Op::negate:
            return 0;
        default:
            return evaluate(c, slots) == Truth::yes ? 1 : 0;
    }
}

void true_slots(const Condition& c, const Slots& slots, std::set<std::string>& out) {
    switch (c.op) {
        case Condition::Op::all:
        case Condition::Op::any:
            for (const auto& child : c.children) true_slots(child, slots, out);
            return;
        case Condition::Op::negate:
            return;
        default:
            if (evaluate(c, slots) == Truth::yes) out.insert(c.slot);
    }
}

void referenced_slots(const Condition& c, std::set<std::string>& out) {
    if (!c.slot.empty()) out.insert(c.slot);
    for (const auto& child : c.children) referenced_slots(child, out);
}

}  // namespace backtalk
