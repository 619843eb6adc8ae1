// The dialogue: screening order, skipping what is known, emergency jumps,
// unclear answers, quick replies, levels that only rise, stretching only when
// safe, and determinism.
#include "rules_support.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>

namespace backtalk {
namespace {

using test::Chat;

bool contains(const std::vector<std::string>& list, const std::string& item) {
    return std::find(list.begin(), list.end(), item) != list.end();
}

bool offers(const Reply& reply, const std::string& id) {
    return std::any_of(reply.quick_replies.begin(), reply.quick_replies.end(), [&](const QuickReply& q) { return q.id == id; });
}

std::string slot_text(const Session& s, const std::string& slot) {
    const auto it = s.slots.find(slot);
    if (it == s.slots.end()) return "";
    const auto* text = std::get_if<std::string>(&it->second);
    return text ? *text : "";
}

const Topic& topic(const std::string& id) {
    const Topic* t = test::rules()->topic(id);
    REQUIRE(t != nullptr);
    return *t;
}

// Answers "no" until the bot asks about `wanted`.
void answer_no_until(Chat& chat, const std::string& wanted) {
    for (std::size_t turn = 0; turn < test::rules()->topics.size() && chat.reply().asking != wanted; ++turn) {
        REQUIRE_FALSE(chat.reply().asking.empty());
        chat.say("no");
    }
    REQUIRE(chat.reply().asking == wanted);
}

// A conversation that ends at "see a doctor today" because of a fever.
Chat urgent_fever_chat() {
    Chat chat;
    chat.say("my lower back has ached for 3 days and I've been feverish and shivery since last night");
    chat.answer_until_done({{"age", "41"}});
    REQUIRE(chat.reply().triage.has_value());
    REQUIRE(chat.reply().triage->level == Level::urgent);
    return chat;
}

// A conversation that ends at self-care: a desk-bound ache, nothing else.
Chat self_care_chat() {
    Chat chat;
    chat.say("my lower back aches after long days at my desk, started 4 days ago");
    chat.answer_until_done({{"age", "33"}});
    REQUIRE(chat.reply().triage.has_value());
    REQUIRE(chat.reply().triage->level == Level::self_care);
    return chat;
}

TEST_CASE("dialogue: a new conversation greets and waits in the start state") {
    const Chat chat;
    CHECK(chat.reply().text == test::text("greeting"));
    CHECK(chat.reply().state == test::rules()->start_state);
    CHECK(chat.reply().asking.empty());
    CHECK_FALSE(chat.reply().triage.has_value());
}

TEST_CASE("dialogue: screening starts with the first safety question") {
    Chat chat;
    chat.say("my lower back has been sore for a few days");
    CHECK(chat.last().replies.front().text == test::text("acknowledge"));
    CHECK(chat.reply().asking == "chest_pain");
    CHECK(chat.reply().text == topic("chest_pain").question);
    CHECK(offers(chat.reply(), "yes"));
    CHECK(offers(chat.reply(), "no"));
    CHECK(offers(chat.reply(), "unsure"));
}

TEST_CASE("dialogue: safety questions come in CLINICAL.md's order") {
    Chat chat;
    chat.say("my lower back has been sore for a few days");
    std::vector<std::string> asked;
    while (!chat.reply().asking.empty() && asked.size() < 6) {
        asked.push_back(chat.reply().asking);
        chat.say("no");
    }
    CHECK(asked == std::vector<std::string>{"chest_pain", "tearing_pain", "saddle_numbness", "bladder_bowel", "leg_weakness", "trauma"});
}

TEST_CASE("dialogue: an emergency cue in the middle of screening goes straight to the outcome") {
    Chat chat;
    chat.say("my lower back has been sore for a few days");
    chat.say("no");
    REQUIRE(chat.reply().asking == "tearing_pain");
    chat.say("no, but since this morning I can't feel the toilet paper when I wipe");
    const Reply& outcome = chat.reply();
    CHECK(outcome.state == "outcome");
    CHECK(outcome.asking.empty());
    REQUIRE(outcome.triage.has_value());
    CHECK(outcome.triage->level == Level::emergency);
    REQUIRE_FALSE(outcome.triage->reasons.empty());
    CHECK(outcome.triage->reasons.front() == "cauda_equina");
    CHECK(outcome.text.find("112") != std::string::npos);
    CHECK(chat.session().asking.empty());
}

TEST_CASE("dialogue: an emergency in the first message needs no questions at all") {
    Chat chat;
    chat.say("I fell off a ladder from about 4 metres and landed on my back");
    CHECK(chat.reply().state == "outcome");
    REQUIRE(chat.reply().triage.has_value());
    CHECK(chat.reply().triage->level == Level::emergency);
    CHECK(chat.reply().triage->reasons.front() == "fracture");
    CHECK(chat.session().asked.empty());
}

TEST_CASE("dialogue: what free text already said is not asked again") {
    Chat chat;
    chat.say("I'm 45, my lower back has hurt for 2 weeks since I lifted a heavy box, no fever and no numbness");
    chat.answer_until_done();
    const auto& asked = chat.session().asked;
    for (const char* known : {"age", "pain_location", "duration", "trigger", "lifting", "fever", "numbness"}) {
        CAPTURE(known);
        CHECK_FALSE(contains(asked, known));
    }
    CHECK(contains(asked, "chest_pain"));
    REQUIRE(chat.reply().triage.has_value());
    CHECK(chat.reply().triage->level == Level::self_care);
    CHECK(chat.reply().triage->reasons.front() == "lifting_strain");
}

TEST_CASE("dialogue: an answer can fill the next questions too") {
    Chat chat;
    chat.say("my back hurts, started yesterday");
    REQUIRE(chat.reply().asking == "chest_pain");
    chat.say("no chest pain, no dizziness, and no numbness down there");
    CHECK(slot_text(chat.session(), "chest_pain") == "no");
    CHECK(slot_text(chat.session(), "tearing_pain") == "no");
    CHECK(slot_text(chat.session(), "saddle_numbness") == "no");
    CHECK(chat.reply().asking == "bladder_bowel");
}

TEST_CASE("dialogue: an unclear answer to a safety question is asked again and then taken as yes") {
    Chat chat;
    chat.say("lower back pain for a week");
    REQUIRE(chat.reply().asking == "chest_pain");
    REQUIRE(topic("chest_pain").safety);
    chat.say("maybe");
    CHECK(chat.reply().asking == "chest_pain");
    CHECK(chat.reply().text == topic("chest_pain").reprompts.front());
    CHECK(chat.session().attempts == 1);
    chat.say("not sure");
    CHECK(chat.said(test::text("unsure_cautious")));
    CHECK(slot_text(chat.session(), "chest_pain") == "yes");
    REQUIRE(chat.reply().triage.has_value());
    CHECK(chat.reply().triage->level == Level::emergency);
    CHECK(chat.reply().triage->reasons.front() == "cardiac");
}

TEST_CASE("dialogue: a clear answer after a reprompt is taken as given") {
    Chat chat;
    chat.say("lower back pain for a week");
    chat.say("hmm");
    REQUIRE(chat.reply().asking == "chest_pain");
    chat.say("no");
    CHECK(slot_text(chat.session(), "chest_pain") == "no");
    CHECK(chat.reply().asking == "tearing_pain");
    CHECK(chat.session().attempts == 0);
}

TEST_CASE("dialogue: 'not sure' to a question that is not a safety question is accepted") {
    Chat chat;
    chat.say("lower back pain for a week");
    answer_no_until(chat, "fever");
    REQUIRE_FALSE(topic("fever").safety);
    chat.say("not sure");
    CHECK(slot_text(chat.session(), "fever") == "unsure");
    CHECK_FALSE(chat.said(test::text("unsure_cautious")));
    CHECK(chat.reply().asking == "cancer_history");
}

TEST_CASE("dialogue: answer words inside a question are not an answer") {
    Chat chat;
    chat.say("my lower back is stiff");
    chat.say("no");
    REQUIRE(chat.reply().asking == "tearing_pain");
    chat.say("what stretches can I do?");
    CHECK(chat.session().slots.count("tearing_pain") == 0);
    CHECK(chat.reply().asking == "tearing_pain");
}

TEST_CASE("dialogue: side questions during a safety question are answered and the question asked again") {
    Chat chat;
    chat.say("my lower back aches after sitting at my desk all week");
    REQUIRE(chat.reply().asking == "chest_pain");
    chat.say("help");
    CHECK(chat.said(test::text("help")));
    CHECK(chat.reply().asking == "chest_pain");
    chat.say("what causes back pain like this?");
    CHECK(chat.said(test::text("causes_later")));
    chat.say("should I see a doctor?");
    CHECK(chat.said(test::text("doctor_later")));
    // Three side questions are not three unclear answers: nothing is assumed.
    CHECK(chat.session().slots.count("chest_pain") == 0);
    CHECK(chat.reply().asking == "chest_pain");
    chat.say("no");
    CHECK(chat.reply().asking == "tearing_pain");
}

TEST_CASE("dialogue: 'help' as the first message gets help and waits for a description") {
    Chat chat;
    chat.say("help");
    CHECK(chat.said(test::text("help")));
    CHECK_FALSE(chat.said(test::text("acknowledge")));
    CHECK(chat.session().state == test::rules()->start_state);
    CHECK(chat.reply().asking.empty());
    chat.say("my lower back has hurt since yesterday");
    CHECK(chat.reply().asking == "chest_pain");
}

TEST_CASE("dialogue: an emergency outcome gives only the causes behind the emergency") {
    Chat chat;
    chat.say("shovelling snow this morning and now my back and left arm ache, I'm all sweaty");
    REQUIRE(chat.reply().triage.has_value());
    CHECK(chat.reply().triage->level == Level::emergency);
    CHECK(chat.reply().triage->reasons == std::vector<std::string>{"cardiac"});
    // The self-care explanation ("not dangerous") must not sit under an ambulance call.
    CHECK(chat.reply().text.find(test::rules()->causes.at("lifting_strain").explanation) == std::string::npos);
}

TEST_CASE("dialogue: a quick reply id and its title typed as text do the same") {
    Chat by_id;
    by_id.say("my upper back is sore");
    by_id.choose("no");
    Chat by_title;
    by_title.say("my upper back is sore");
    by_title.say("No");
    CHECK(by_id.reply().asking == "tearing_pain");
    CHECK(by_id.session().slots == by_title.session().slots);
    CHECK(by_id.wire().back() == by_title.wire().back());
}

TEST_CASE("dialogue: a choice topic answered with its option id") {
    Chat chat;
    chat.say("my back has hurt for a week, I'm 30");
    answer_no_until(chat, "trigger");
    CHECK(offers(chat.reply(), "posture"));
    chat.choose("posture");
    CHECK(slot_text(chat.session(), "trigger") == "posture");
    CHECK(chat.reply().asking != "trigger");
}

TEST_CASE("dialogue: a choice that was not offered is a bad_choice and changes nothing") {
    Chat chat;
    chat.say("lower back pain for a week");
    const std::string before = session_snapshot(chat.session());
    const TurnResult& result = chat.choose("stretches");
    REQUIRE(result.error.has_value());
    CHECK(result.error->code == "bad_choice");
    CHECK(result.replies.empty());
    CHECK(session_snapshot(result.session) == before);
    CHECK(session_snapshot(chat.session()) == before);
    // The conversation goes on where it was.
    chat.choose("no");
    CHECK(chat.reply().asking == "tearing_pain");
}

TEST_CASE("dialogue: levels only rise") {
    Chat chat = urgent_fever_chat();
    chat.say("actually I don't think I had a fever after all");
    REQUIRE(chat.session().triage.has_value());
    CHECK(chat.session().triage->level == Level::urgent);
    for (const Reply& r : chat.last().replies) CHECK((!r.triage || r.triage->level == Level::urgent));

    chat.say("oh and now both my legs feel weak and heavy");
    REQUIRE(chat.reply().triage.has_value());
    CHECK(chat.reply().triage->level == Level::emergency);
    CHECK(chat.reply().text.rfind(test::text("level_raised"), 0) == 0);
    CHECK(chat.session().triage->level == Level::emergency);
}

TEST_CASE("dialogue: no stretching at urgent") {
    Chat chat = urgent_fever_chat();
    const Reply& outcome = chat.reply();
    REQUIRE(outcome.steps.has_value());
    CHECK(outcome.steps->empty());
    CHECK_FALSE(offers(outcome, "stretches"));
    chat.say("can you show me some stretches?");
    CHECK(chat.reply().text == test::text("stretches_not_safe"));
    CHECK(chat.reply().state == "outcome");
    CHECK_FALSE(chat.reply().steps.has_value());
    CHECK(chat.session().state == "outcome");
}

TEST_CASE("dialogue: after a serious outcome the fallback reply does not offer stretching") {
    Chat chat = urgent_fever_chat();
    chat.say("ok");
    CHECK(chat.reply().text.find("stretch") == std::string::npos);
    CHECK_FALSE(offers(chat.reply(), "stretches"));
}

TEST_CASE("dialogue: no stretching at emergency") {
    Chat chat;
    chat.say("crushing pain in my chest going through to my back");
    REQUIRE(chat.reply().triage.has_value());
    REQUIRE(chat.reply().triage->level == Level::emergency);
    REQUIRE(chat.reply().steps.has_value());
    CHECK(chat.reply().steps->empty());
    chat.say("show me the stretches");
    CHECK(chat.reply().text == test::text("stretches_not_safe"));
    CHECK(chat.session().state == "outcome");
}

TEST_CASE("dialogue: stretches before the outcome wait for the safety questions") {
    Chat chat;
    chat.say("my lower back is stiff");
    REQUIRE(chat.reply().asking == "chest_pain");
    chat.say("no");
    chat.say("show me some stretches first please");
    CHECK(chat.said(test::text("stretches_later")));
    CHECK(chat.reply().asking == "tearing_pain");
    CHECK(chat.session().state == "screening");
}

TEST_CASE("dialogue: at self-care the stretches are offered and walked through") {
    Chat chat = self_care_chat();
    const Reply& outcome = chat.reply();
    REQUIRE(outcome.steps.has_value());
    const std::vector<Step> plan = *outcome.steps;
    REQUIRE(plan.size() >= 2);
    CHECK(offers(outcome, "stretches"));

    chat.choose("stretches");
    CHECK(chat.session().state == "stretch_guide");
    REQUIRE(chat.reply().steps.has_value());
    REQUIRE(chat.reply().steps->size() == 1);
    CHECK(chat.reply().steps->front().id == plan[0].id);
    chat.say("next");
    CHECK(chat.reply().steps->front().id == plan[1].id);
    chat.say("repeat");
    CHECK(chat.reply().steps->front().id == plan[1].id);
    // "done" part way through stops the routine; it does not say it is complete.
    chat.choose("done");
    CHECK(chat.reply().text == test::text("stretches_stopped"));
    CHECK(chat.session().state == "outcome");
}

TEST_CASE("dialogue: a stretch is held and repeated, the cool-down walk is kept up for minutes") {
    Chat chat;
    chat.say("my lower back is sore after a hard run yesterday");
    chat.answer_until_done({{"after_exercise", "yes"}, {"trigger", "running"}});
    REQUIRE(chat.reply().steps.has_value());
    REQUIRE(chat.reply().steps->front().id == "cool_down");
    chat.choose("stretches");
    CHECK(chat.reply().text.find("Keep this up for about 10 minutes.") != std::string::npos);
    CHECK(chat.reply().text.find("seconds") == std::string::npos);
    chat.say("next");
    CHECK(chat.reply().text.find("Hold for 30 seconds, 2 times.") != std::string::npos);
}

TEST_CASE("dialogue: the cool-down is part of the plan only after exercise") {
    const auto has_cool_down = [](const Reply& reply) {
        return std::any_of(reply.steps->begin(), reply.steps->end(), [](const Step& s) { return s.id == "cool_down"; });
    };
    Chat lifting = self_care_chat();
    REQUIRE(lifting.reply().steps.has_value());
    CHECK_FALSE(has_cool_down(lifting.reply()));
    CHECK(lifting.reply().steps->size() == test::rules()->stretches.steps.size() - 1);

    Chat running;
    running.say("my lower back and hamstrings are achy since my run two days ago, I'm 30");
    running.answer_until_done({});
    REQUIRE(running.reply().triage.has_value());
    REQUIRE(running.reply().triage->level == Level::self_care);
    REQUIRE(running.reply().steps.has_value());
    CHECK(running.reply().steps->front().id == "cool_down");
}

TEST_CASE("dialogue: 'next' after the last stretch finishes the routine") {
    Chat chat = self_care_chat();
    const std::vector<Step> plan = *chat.reply().steps;
    chat.choose("stretches");
    for (std::size_t i = 1; i < plan.size(); ++i) chat.choose("next");
    REQUIRE(chat.reply().steps.has_value());
    CHECK(chat.reply().steps->front().id == plan.back().id);
    chat.choose("next");
    CHECK(chat.reply().text == test::text("stretches_done"));
    CHECK(chat.session().state == "outcome");
}

TEST_CASE("dialogue: a question about medicines or a diagnosis is answered honestly, then the question comes again") {
    Chat chat;
    chat.say("my lower back has been sore for two days");
    const std::string asking = chat.reply().asking;
    REQUIRE_FALSE(asking.empty());
    chat.say("can i take ibuprofen with my blood pressure tablets?");
    CHECK(chat.said(test::text("outside_scope")));
    CHECK(chat.reply().asking == asking);
    chat.say("is it a slipped disc");
    CHECK(chat.said(test::text("which_cause_during")));
    CHECK(chat.reply().asking == asking);

    Chat advised = self_care_chat();
    advised.say("is it a slipped disc?");
    CHECK(advised.reply().text == test::text("which_cause"));
    CHECK(advised.session().state == "outcome");
    // Telling what helped is not a question.
    advised.say("I took ibuprofen and it helped a bit");
    CHECK_FALSE(advised.said(test::text("outside_scope")));
}

TEST_CASE("dialogue: a button of an earlier question changes nothing and shows the question now open") {
    Chat chat;
    chat.say("my lower back has been sore for two days");
    REQUIRE(chat.reply().asking == "chest_pain");
    chat.choose("no");
    const std::string now_asking = chat.reply().asking;
    REQUIRE(now_asking == "tearing_pain");
    const Session before = chat.session();
    // "No" clicked on the chest pain question in another window.
    chat.choose_for("no", "chest_pain");
    CHECK(chat.last().replies.front().text == test::text("stale_choice"));
    CHECK(chat.reply().asking == now_asking);
    CHECK(chat.session().slots == before.slots);
    CHECK_FALSE(chat.last().error.has_value());
    // A button of the open question is an answer.
    chat.choose_for("no", now_asking);
    CHECK(chat.session().slots.count("tearing_pain") == 1);

    Chat advised = self_care_chat();
    advised.choose_for("yes", "chest_pain");
    CHECK(advised.last().replies.front().text.rfind(test::text("stale_choice"), 0) == 0);
    CHECK(advised.session().triage->level == Level::self_care);

    // In the stretching guide it shows the step they are on.
    advised.choose("stretches");
    advised.say("next");
    const std::string step = advised.reply().steps->front().id;
    advised.choose_for("no", "pain_score");
    CHECK(advised.reply().text.rfind(test::text("stale_choice"), 0) == 0);
    REQUIRE(advised.reply().steps.has_value());
    CHECK(advised.reply().steps->front().id == step);
}

TEST_CASE("dialogue: in pregnancy the plan leaves out the stretches done lying on the back") {
    const auto plan_ids = [](const Chat& chat) {
        std::vector<std::string> ids;
        for (const Step& step : *chat.reply().steps) ids.push_back(step.id);
        return ids;
    };
    Chat pregnant;
    pregnant.say("im 30 weeks pregnant and my lower back is aching, worse after standing all day");
    pregnant.answer_until_done({{"age", "31"}});
    REQUIRE(pregnant.reply().steps.has_value());
    REQUIRE_FALSE(pregnant.reply().steps->empty());
    const auto ids = plan_ids(pregnant);
    CHECK(std::find(ids.begin(), ids.end(), "lower_back") == ids.end());
    CHECK(std::find(ids.begin(), ids.end(), "thigh_outer_glutes") == ids.end());
    const auto usual = plan_ids(self_care_chat());
    CHECK(std::find(usual.begin(), usual.end(), "lower_back") != usual.end());
    for (const Step& step : *pregnant.reply().steps) CHECK(step.text.find("Lie on") == std::string::npos);
}

TEST_CASE("dialogue: start over forgets everything") {
    Chat chat = urgent_fever_chat();
    const Session before = chat.session();
    chat.say("start over");
    CHECK(chat.reply().text == test::text("restart"));
    CHECK(chat.session().state == test::rules()->start_state);
    CHECK(chat.session().slots.empty());
    CHECK_FALSE(chat.session().triage.has_value());
    // Still the same, live session: not a new one, and not expired.
    CHECK(chat.session().started_ms == before.started_ms);
    CHECK(chat.session().last_active_ms >= before.last_active_ms);
    CHECK(chat.session().turns == before.turns + 1);
    CHECK(chat.session().rules_version == before.rules_version);
    chat.say("my lower back is sore after gardening");
    CHECK(chat.reply().asking == "chest_pain");
}

TEST_CASE("dialogue: stop ends the conversation and a new message starts a fresh one") {
    Chat chat;
    chat.say("my lower back is sore, since yesterday");
    chat.say("stop");
    CHECK(chat.reply().text == test::text("stop"));
    CHECK(chat.session().state == "ended");
    CHECK(chat.session().asking.empty());
    const Session stopped = chat.session();
    chat.say("my neck is stiff, it started 2 days ago");
    CHECK(chat.session().last_active_ms >= stopped.last_active_ms);
    CHECK(chat.session().last_active_ms > 0);
    CHECK(chat.session().turns == stopped.turns + 1);
    CHECK(chat.session().slots.count("duration") == 1);
    CHECK(chat.session().slots.count("pain_location") == 1);
    CHECK(chat.reply().asking == "chest_pain");
}

TEST_CASE("dialogue: every reply carries the state it was said in") {
    Chat chat;
    chat.say("lower back ache for two days");
    for (const Reply& r : chat.last().replies) CHECK(r.state == "screening");
    CHECK(chat.session().state == "screening");
}

TEST_CASE("dialogue: resume picks the question up again") {
    Chat chat;
    chat.say("lower back ache for two days");
    chat.say("no");
    const TurnResult resumed = test::single_question_engine().resume(chat.session(), 1'790'000'999'000);
    REQUIRE(resumed.replies.size() >= 2);
    CHECK(resumed.replies.front().text == test::text("resume"));
    CHECK(resumed.replies.back().asking == "tearing_pain");
    CHECK(resumed.session.last_active_ms == 1'790'000'999'000);
}

TEST_CASE("dialogue: resume after the outcome restates the menu") {
    Chat chat = self_care_chat();
    const TurnResult resumed = test::single_question_engine().resume(chat.session(), 1'790'000'999'000);
    REQUIRE(resumed.replies.size() == 1);
    CHECK(resumed.replies[0].text == test::text("resume_outcome"));
    CHECK(offers(resumed.replies[0], "stretches"));
}

TEST_CASE("dialogue: resume in the stretching guide shows the step they were on") {
    Chat chat = self_care_chat();
    chat.choose("stretches");
    chat.say("next");
    chat.say("next");
    const std::string step = chat.reply().steps->front().id;
    const TurnResult resumed = test::single_question_engine().resume(chat.session(), 1'790'000'999'000);
    REQUIRE(resumed.replies.size() == 1);
    CHECK(resumed.replies[0].text.rfind(test::text("resume"), 0) == 0);
    REQUIRE(resumed.replies[0].steps.has_value());
    CHECK(resumed.replies[0].steps->front().id == step);
    CHECK(offers(resumed.replies[0], "next"));
    CHECK(resumed.session.state == "stretch_guide");
}

TEST_CASE("dialogue: resume of a session whose state no longer exists moves to a safe state") {
    Chat chat;
    chat.say("lower back ache for two days");
    Session stale = chat.session();
    stale.state = "screening_v0";
    const TurnResult resumed = test::single_question_engine().resume(stale, 1'790'000'999'000);
    REQUIRE_FALSE(resumed.replies.empty());
    const State* state = test::rules()->state(resumed.session.state);
    REQUIRE(state != nullptr);
    CHECK(state->kind == State::Kind::questions);
    CHECK(resumed.replies.back().asking == "chest_pain");

    SUBCASE("with an outcome already given, it goes back to the outcome") {
        Chat done = urgent_fever_chat();
        Session old = done.session();
        old.state = "results_v0";
        const TurnResult back = test::single_question_engine().resume(old, 1'790'000'999'000);
        CHECK(back.session.state == "outcome");
        REQUIRE_FALSE(back.replies.empty());
        CHECK_FALSE(offers(back.replies.back(), "stretches"));
        CHECK(back.session.triage->level == Level::urgent);
    }
    SUBCASE("a message to such a session is answered from a safe state too") {
        const TurnResult next = test::single_question_engine().step(stale, protocol::Message{"no"}, 1'790'000'999'000);
        REQUIRE_FALSE(next.replies.empty());
        CHECK(test::rules()->state(next.session.state) != nullptr);
    }
}

TEST_CASE("dialogue: resume of a session waiting on a topic that no longer exists") {
    Chat chat;
    chat.say("lower back ache for two days");
    Session stale = chat.session();
    stale.asking = "old_topic";
    const TurnResult resumed = test::single_question_engine().resume(stale, 1'790'000'999'000);
    REQUIRE_FALSE(resumed.replies.empty());
    CHECK(test::rules()->topic(resumed.session.asking) != nullptr);
}

TEST_CASE("dialogue: the same inputs at the same times give byte-identical output") {
    const auto play = [] {
        Chat chat;
        chat.say("my 70 year old mum slipped on the stairs yesterday and her lower back hurts");
        chat.say("no");
        chat.choose("no");
        chat.say("not sure");
        chat.say("no");
        chat.answer_until_done();
        chat.say("what causes this?");
        std::string all;
        for (const auto& line : chat.wire()) all += line + "\n";
        return all + session_snapshot(chat.session());
    };
    const std::string first = play();
    CHECK(first == play());
    CHECK(first.find("\"triage\":{\"level\"") != std::string::npos);
}

TEST_CASE("dialogue: the clock only moves the session's times") {
    Chat early(test::engine(), 1'000);
    Chat late(test::engine(), 9'000'000);
    for (Chat* chat : {&early, &late}) {
        chat->say("my lower back hurts after sitting all day");
        chat->say("no");
    }
    CHECK(early.wire() == late.wire());
    CHECK(early.session().started_ms == 1'000);
    CHECK(late.session().last_active_ms == 9'000'000 + 2 * 60'000);
}

}  // namespace
TEST_CASE("emergency numbers: digits with an optional + and single spaces or dashes") {
    for (const char* number : {"112", "911", "999", "000", "+44 20 7946 0958", "0800-123-456"}) {
        CAPTURE(number);
        CHECK(is_dialable_number(number));
    }
    for (const char* number : {"", "1", "+", "hello world; rm", "112 ", " 112", "11  2", "1-", "+-1", "1234567890123456",
                               "112\n", "112; call"}) {
        CAPTURE(number);
        CHECK_FALSE(is_dialable_number(number));
    }
}

}  // namespace backtalk

namespace backtalk {
namespace {

TEST_CASE("dialogue: advice names the rules behind its level, the facts each used and the turn that set each") {
    Chat chat;
    chat.say("my lower back hurts since I lifted a box");
    CHECK(chat.last().notes.basis.empty());  // no advice yet
    chat.say("no");
    chat.say("I can't feel the toilet paper when I wipe and I've been leaking urine");
    REQUIRE(chat.reply().triage);
    CHECK(chat.reply().triage->level == Level::emergency);
    const auto& basis = chat.last().notes.basis;
    REQUIRE_FALSE(basis.empty());
    const auto em1 = std::find_if(basis.begin(), basis.end(), [](const RuleBasis& b) { return b.rule == "EM-1"; });
    REQUIRE(em1 != basis.end());
    CHECK(em1->level == Level::emergency);
    const auto saddle = std::find_if(em1->facts.begin(), em1->facts.end(), [](const RuleBasis::Fact& f) { return f.slot == "saddle_numbness"; });
    REQUIRE(saddle != em1->facts.end());
    CHECK(saddle->value == "yes");
    CHECK(saddle->turn == 3);
    for (const RuleBasis& b : basis) CHECK(b.level == Level::emergency);
}

}  // namespace
}  // namespace backtalk

namespace backtalk {
namespace {

TEST_CASE("dialogue: screening signs are asked as groups, and 'none of these' answers every sign of the group") {
    Chat chat(test::engine());
    chat.say("my lower back has ached for 3 days since gardening");
    const Group& group = *test::rules()->group(chat.reply().asking);
    CHECK(chat.reply().covers == group.covers);
    CHECK(chat.wire().back().find("\"covers\":[") != std::string::npos);
    chat.choose("none");
    for (const auto& topic : group.covers) CHECK(std::get<std::string>(chat.session().slots.at(topic)) == "no");
    CHECK(chat.reply().asking != group.id);
}

TEST_CASE("dialogue: a sign named in answer to a group counts at once, a bare yes asks which one") {
    Chat named(test::engine());
    named.say("my back hurts");
    named.say("yes, I can't feel the toilet paper when I wipe");
    REQUIRE(named.reply().triage);
    CHECK(named.reply().triage->level == Level::emergency);

    // "Yes" alone: which one, with a button per sign still open (its label),
    // then "More than one" and "Not sure"; the question stays the group's.
    Chat bare(test::engine());
    bare.say("my back hurts");
    const Group& group = *test::rules()->group(bare.reply().asking);
    bare.say("yes");
    CHECK(bare.reply().text == test::text("group_which"));
    CHECK(bare.reply().asking == group.id);
    CHECK(bare.reply().covers == group.covers);
    REQUIRE(bare.reply().quick_replies.size() == group.covers.size() + test::rules()->which_replies.size());
    for (std::size_t i = 0; i < group.covers.size(); ++i) {
        CHECK(bare.reply().quick_replies[i].id == group.covers[i]);
        CHECK(bare.reply().quick_replies[i].title == test::rules()->topic(group.covers[i])->label);
    }

    SUBCASE("a sign's button sets that sign and asks about the others that could still matter") {
        const std::string& trauma = group.covers.back();
        bare.choose(trauma);
        CHECK(std::get<std::string>(bare.session().slots.at(trauma)) == "yes");
        CHECK(bare.session().picking.empty());
        if (!bare.reply().triage) {
            CHECK(bare.reply().asking == group.id);
            CHECK(bare.reply().text.rfind(test::text("group_others"), 0) == 0);
            CHECK(std::find(bare.reply().covers.begin(), bare.reply().covers.end(), trauma) == bare.reply().covers.end());
        }
    }
    SUBCASE("a typed number picks the button") {
        bare.say("1");
        CHECK(std::get<std::string>(bare.session().slots.at(group.covers.front())) == "yes");
        REQUIRE(bare.reply().triage);
        CHECK(bare.reply().triage->level == Level::emergency);
    }
    SUBCASE("more than one, not sure, or a bare no go through the group one at a time; nothing is denied") {
        for (const std::string answer : {"several", "unsure"}) {
            Chat again(test::engine());
            again.say("my back hurts");
            again.say("yes");
            again.choose(answer);
            CHECK(again.said(test::text("group_one_at_a_time")));
            CHECK(again.reply().asking == group.covers.front());
            CHECK(again.reply().covers.empty());
        }
        bare.say("no");
        CHECK(bare.said(test::text("group_one_at_a_time")));
        CHECK(bare.reply().asking == group.covers.front());
        for (const auto& id : group.covers) CHECK_FALSE(bare.session().slots.count(id));
    }
    SUBCASE("a question back is answered and which one asked again") {
        bare.say("why do you need to know?");
        CHECK(bare.reply().text == test::text("group_which"));
        CHECK(bare.session().picking == group.id);
    }
}

}  // namespace
}  // namespace backtalk

namespace backtalk {
namespace {

TEST_CASE("dialogue: a level falls only after a correction the person confirmed, and the turn's notes record it") {
    Chat chat;
    chat.say("my lower back hurts and both my legs feel weak and heavy");
    REQUIRE(chat.reply().triage);
    REQUIRE(chat.reply().triage->level == Level::emergency);
    chat.say("that's wrong, my legs are fine");
    CHECK(std::get<std::string>(chat.session().slots.at("both_legs")) == "yes");  // nothing changes yet
    CHECK(chat.session().triage->level == Level::emergency);
    chat.say("no");
    CHECK(chat.session().triage->level == Level::emergency);
    CHECK(chat.session().pending_correction.empty());
    chat.say("that's wrong, my legs are fine");
    chat.say("yes");
    CHECK(std::get<std::string>(chat.session().slots.at("both_legs")) == "no");
    const auto& noted = chat.last().notes.intents;
    CHECK(std::find(noted.begin(), noted.end(), "correction:both_legs=no") != noted.end());
    CHECK_FALSE(chat.session().triage);  // the questions an emergency cut short are asked now
    CHECK_FALSE(chat.reply().asking.empty());
    chat.answer_until_done({{"age", "40"}});
    REQUIRE(chat.session().triage);
    CHECK(chat.session().triage->level < Level::emergency);
}

TEST_CASE("dialogue: a vague 'I'm fine now' never lowers the level") {
    Chat chat;
    chat.say("my lower back hurts and both my legs feel weak and heavy");
    chat.say("I'm fine now");
    CHECK(chat.session().triage->level == Level::emergency);
}

}  // namespace
}  // namespace backtalk
