SPECS = {}
def t(name, comment, opening, answers=None, after=None, **kw):
    SPECS[name] = dict(comment=comment, opening=opening, answers=answers or {}, after=after or [], **kw)

# ---------------------------------------------------------------- emergency
t("em1_saddle_numbness_in_second_message", """
EM-1 cauda equina, and the trap of a red flag that only appears in the second
message: the first message sounds like an ordinary strain, the person answers
the first safety question, then adds numbness when wiping. The bot stops
screening at once and sends them to emergency care (CLINICAL.md EM-1 and
"stop and escalate as soon as an emergency rule fires").
""", ["> my lower back has been playing up since I moved a sofa on sunday. any tips?", "> no",
      "> actually something else. since last night it feels kind of numb down there when I wipe, is that related?"])

t("em1_bladder_and_both_legs", """
EM-1 cauda equina from new trouble starting to pass urine together with both
legs feeling heavy, all in the first message: emergency with no questions.
""", ["> back is agony since yesterday, struggling to start peeing and both my legs feel heavy"])

t("em2_chest_pain_blamed_on_gym", """
Trap: chest pain blamed on the gym. Back ache and a tight chest after bench
pressing is EM-2 (possible heart attack) "even if it started while lifting",
not a pulled muscle: emergency at once, and no stretching when asked for.
""", ["> Been doing heavy bench press at the gym tonight and now my upper back aches and there's a tight feeling across my chest. Probably just pulled something right?",
      "> what stretches should I do for it?"])

t("em2_lifting_arm_pain_sweating", """
Trap: chest pain blamed on lifting. Upper back pain going into the left arm
with sweating and nausea while carrying boxes is EM-2 even without chest pain
and even though it started while lifting. Asked what it could be, the bot
gives the cardiac cause, not a strain.
""", ["> carrying boxes up the stairs at work and got a pain in my upper back going into my left arm. now all sweaty and feel a bit sick",
      "> what could it be then?"])

t("em2_pain_into_arm_found_by_screening", """
EM-2 found by the first safety question: an upper back ache described without
any worrying sign, then "yes" to it: a tight chest and an aching left arm.
""", ["> upper back ache on and off since this afternoon", "> yes, my chest feels tight and my left arm aches"])

t("em3_sudden_belly_and_back_pain_dizzy", """
EM-3 aorta: sudden severe pain in the lower back and belly with dizziness and
clamminess. Emergency straight away, reason aortic.
""", ["> sudden terrible pain in my lower back and across my stomach about 20 minutes ago, I feel really dizzy and clammy"])

t("em3_tearing_pain_answered_in_screening", """
EM-3 aorta: "yes" to the tearing-pain question, in the person's own words
("like something ripped"), on the second safety question. Emergency.
""", ["> my back hurts a lot, started an hour ago", "> no chest pain",
      "> yes it felt like something ripped inside, right through to my back"])

t("em4_fall_from_ladder_with_typos", """
EM-4 major trauma: a fall of about 3 metres from a ladder, typed with a typo
("fell of"). Emergency with no questions; reason fracture.
""", ["> fell of a ladder about 3 metres onto the patio this morning clearing the gutters, landed on my back and it really hurts"])

t("em4_road_accident_answered_in_screening", """
EM-4 major trauma through the trauma question: the first message gives no
cue, the earlier safety questions are answered no, then the person says a car
knocked them off their bike. Emergency, reason fracture.
""", ["> my back has been sore for two days"],
  answers={"trauma": "> yes, I was knocked off my bike by a car on monday"})

t("em5_cancer_treatment_and_leg_weakness", """
EM-5 spinal cord compression: someone being treated for myeloma with worse
back pain and a weak leg. Cancer plus a nerve symptom is an emergency
(NICE NG234), reason cancer.
""", ["> I'm on treatment for myeloma and my back has got much worse this week, and my right leg feels weak when I walk"])

t("em6_fever_and_numb_foot", """
EM-6 infection with nerve signs: back pain with a temperature of 38.7 and a
numb foot. Emergency, reason spinal infection.
""", ["> back pain for a week, temp of 38.7 last night and now my left foot has gone numb"])

t("em6_relative_injects_drugs_and_confused", """
EM-6 sepsis signs with an infection risk, written by a relative: a brother who
injects drugs, with back pain, now confused and drowsy. Emergency at once.
""", ["> I'm asking for my brother, he injects and has had bad back pain for a week. today he's really confused and drowsy"])

t("em7_dark_urine_after_hard_exercise", """
EM-7 rhabdomyolysis: extreme exercise, then "yes" to the dark-urine question,
which is asked only because the pain followed exercise. Emergency, reason
rhabdomyolysis.
""", ["> did a crazy spin class and 300 squats two days ago, my back and thighs are in agony"],
  answers={"age": "> 24", "pain_location": "> lower back", "onset": "> it built up over the evening",
           "dark_urine": "> yes it's gone really dark like cola and I've hardly been"})

# ---------------------------------------------------------------- urgent
t("ur1_fever_only_in_second_message", """
UR-1 fever with back pain, and the trap of a red flag in the second message:
the first message asks for home tips, the second adds chills and feeling
rotten. Screening goes on (urgent, not an emergency), then only what could
still raise the level is asked; outcome "see a doctor today", no stretching.
""", ["> lower back sore since the weekend, any tips to get it moving?",
      "> oh and I've had the chills and felt rotten since yesterday"],
  answers={"age": "> 46", "trigger": "> nothing really, it just started"})

t("ur2_transplant_immunosuppressed", """
UR-2 infection risk: a kidney transplant and immune-suppressing medicines with
new back pain. Urgent, reason spinal infection; the immune question is not
asked because the first message answered it.
""", ["> I had a kidney transplant and take immunosuppressants. my back started hurting 5 days ago"],
  answers={"age": "> 57", "trigger": "> not sure"})

t("ur3_weight_loss_at_68", """
UR-3 suspected cancer: 68 with back pain and about a stone lost without
trying. Urgent, reason cancer. Age and weight loss come from the first
message and are not asked.
""", ["> I'm 68, my back has ached for a month and I've lost nearly a stone without trying"],
  answers={"trigger": "> nothing"})

t("ur3_past_cancer_new_back_pain", """
UR-3: a history of cancer with new back pain is the strongest single flag. No
nerve symptoms, so urgent, not EM-5; the questions that could still raise it
(leg weakness, numbness, bladder) are asked.
""", ["> had bowel cancer, I've been given the all clear, but I've got new lower back pain for 2 weeks"],
  answers={"age": "> 61", "trigger": "> nothing I know of"})

t("ur4_night_pain_does_not_ease", """
UR-4: pain that wakes the person every night and does not ease when lying
still. Urgent.
""", ["> my back pain is worst at night, it wakes me at 3am every night and lying still doesn't help at all"],
  answers={"age": "> 49", "trigger": "> no idea"})

t("ur4_lump_on_spine", """
UR-4: a new lump or change in the shape of the back. Urgent.
""", ["> there's a lump on my spine I never noticed before and the area aches"],
  answers={"age": "> 39", "trigger": "> nothing"})

t("ur4_worse_on_coughing", """
UR-4: pain worse on coughing, sneezing or straining, answered yes to its own
question. Urgent.
""", ["> my lower back has hurt for 10 days"],
  answers={"age": "> 42", "cough_strain": "> yes, every time I sneeze it shoots", "trigger": "> not sure"})

t("ur5_relative_grandad_osteoporosis_trip", """
UR-5 possible fragility fracture, written by a relative: a 78-year-old with
osteoporosis who tripped and landed on his backside. A minor fall, not EM-4;
urgent, reason fracture. Age, osteoporosis and the fall are not asked again.
""", ["> asking for my grandad, he's 78, he tripped on the rug in the hall yesterday and landed on his backside. his lower back really hurts now. he has osteoporosis"])

t("ur6_side_pain_burning_urine", """
UR-6 kidney: pain in the side under the ribs going round to the back, burning
urine and vomiting. Urgent, reason kidney.
""", ["> pain in my right side under the ribs going round to my back, it burns when I wee and I've been sick twice"],
  answers={"age": "> 33", "trigger": "> nothing"})

t("ur7_foot_drop_one_leg", """
UR-7: worsening weakness with foot drop in one leg (the other leg fine, so not
EM-1). Urgent, reason sciatica.
""", ["> sciatica down my left leg for 2 weeks and now my left foot has gone floppy and catches the floor when I walk. right leg is fine"],
  answers={"age": "> 44", "trigger": "> no idea"})

# ---------------------------------------------------------------- see a doctor soon
t("gp1_not_improving_after_four_weeks", """
GP-1: not improving after a few weeks of self-care (4 weeks, "still no
better"). Book a doctor or physio within 1 to 2 weeks; stretching is still
offered at this level.
""", ["> pulled my back gardening 4 weeks ago, I've kept moving and used heat but it's still no better"],
  answers={"age": "> 38", "pain_location": "> lower back, middle", "onset": "> it came on suddenly when I was digging",
           "trigger": "> digging the garden", "pain_score": "> 5"})

t("gp2_cannot_work_or_sleep", """
GP-2: pain that stops daily life (cannot get out of bed, cannot work) with no
other flag. Book a doctor soon.
""", ["> my lower back is so bad I can't get out of bed properly or go to work, it started 5 days ago"],
  answers={"age": "> 31", "onset": "> gradually", "trigger": "> no idea", "pain_score": "> 7"})

t("gp3_sciatica_five_weeks", """
GP-3: sciatica (pain below the knee in one leg) not settling after 5 weeks,
without weakness. Book a doctor soon, reason sciatica.
""", ["> pain shoots from my bum down the back of my right leg to my ankle, it's been 5 weeks and isn't settling"],
  answers={"age": "> 41", "leg_weakness": "> no, strength is fine", "pain_location": "> lower back",
           "onset": "> suddenly", "trigger": "> nothing I know of", "pain_score": "> 6"})

t("gp4_inflammatory_morning_stiffness", """
GP-4 inflammatory back pain (NICE NG65): 31, pain for 7 months, more than an
hour of morning stiffness that eases with movement. The morning-stiffness
question is asked only because the pain has lasted over 12 weeks. Book a
doctor soon, reason inflammatory.
""", ["> I'm 31 and my lower back has been sore for about 7 months. it's worst first thing and gets better once I get moving"],
  answers={"onset": "> gradually", "trigger": "> nothing", "morning_stiffness": "> yes, I'm stiff for over an hour every morning",
           "pain_score": "> 4"})

t("gp5_new_pain_at_58", """
GP-5: new back pain at 58 with no other flag. Book a doctor soon; age is read
from the first message.
""", ["> I'm 58 and my back started aching last week for no reason I can think of"],
  answers={"pain_location": "> lower back", "onset": "> gradually", "trigger": "> nothing", "pain_score": "> 4"})

t("gp6_chronic_pain_and_distress", """
GP-6: pain for 7 months with high distress (signed off work, afraid to move,
feeling low), never assessed. Book a doctor or physio soon, reason chronic
pain.
""", ["> my back has hurt for about 7 months, I'm signed off work and honestly I'm scared to move in case I make it worse. feeling pretty low about it"],
  answers={"age": "> 44", "pain_location": "> lower back", "onset": "> gradually", "trigger": "> nothing I know of",
           "pain_score": "> 6"})

# ---------------------------------------------------------------- self-care
t("sc1_ache_for_three_days_no_cause", """
SC-1 non-specific strain: a lower back ache for three days, no known cause,
no flags, 35. Self-care with the signs that should change it;
stretches offered.
""", ["> my lower back started aching 3 days ago, no idea why"],
  answers={"age": "> 35", "onset": "> gradually", "trigger": "> nothing I know of", "pain_score": "> 3"})

t("sc9_lengths_and_ages_are_not_falls", """
Numbers with length units that are not falls: pain "for 30m", "6 ft tall",
"31m" (a man of 31). Not a fall from height, and "I'm 6 ft" is not an age of
6: the safety questions and the age are asked as usual (trauma answered no)
and the outcome is self-care, not an emergency.
""", ["> my lower back has hurt for 30m after a long day at my desk, I'm 6 ft tall, 31m"],
  answers={"age": "> 31", "onset": "> gradually", "trigger": "> sitting all day", "pain_score": "> 3"})

t("sc2_lifting_strain_walk_through_stretches", """
SC-2 strain after lifting, no flags: "hurt my back lifting boxes yesterday, no
fever" fills trigger, duration and fever at once (none asked). After the
self-care outcome the person walks through the stretches: show the
stretches, next, repeat, next, then "Stop stretching" typed as the title.
""", ["> hurt my back lifting boxes yesterday, no fever"],
  answers={"age": "> 42", "pain_location": "> low down in the middle", "onset": "> felt it go as I lifted the last one",
           "pain_score": "> 5 out of 10"},
  after=["> show me the stretches", "> next", "> repeat", "> next", "> Stop stretching"])

t("sc3_sore_after_half_marathon", """
SC-3 post-exercise soreness after a first half marathon. The bot asks about
dark urine because the pain followed hard exercise (watch for EM-7); the
answer is no, so self-care with the post-exercise advice.
""", ["> ran my first half marathon on sunday, lots of hills, and my lower back and hamstrings are really achy today"],
  answers={"age": "> 29", "onset": "> gradually, it built up through monday", "dark_urine": "> no, it's a normal colour",
           "pain_score": "> about 4"})

t("sc4_desk_posture", """
SC-4 posture: an ache that builds through days at a laptop. Self-care with the
posture advice (change position often; there is no perfect posture).
""", ["> working from home at the kitchen table and my lower back aches by the end of every day, started about a week ago"],
  answers={"age": "> 27", "onset": "> gradually", "pain_score": "> 3"})

t("sc5_known_chronic_flare", """
SC-5 flare of known, assessed chronic pain with nothing new: ten years of
chronic back pain checked by the GP and physio, the usual flare after a long
drive. Self-care (not GP-6 or GP-5: it is known and assessed).
""", ["> I've had chronic back pain for 10 years, the GP and physio have checked it all. it's flared up after a long drive, same as always, nothing new"],
  answers={"age": "> 54", "pain_location": "> lower back", "onset": "> gradually",
           "morning_stiffness": "> no, only ten minutes or so", "pain_score": "> 5"})

# ---------------------------------------------------------------- traps
t("trap_no_fever_is_not_fever", """
Trap: "no fever" must not be read as fever. The first message denies fever,
chills and numbness; fever and numbness are not asked and the outcome is
self-care (SC-1), never urgent.
""", ["> no fever, no chills, no numbness, just a stiff lower back since yesterday"],
  answers={"age": "> 36", "onset": "> gradually", "trigger": "> nothing", "pain_score": "> 3"})

t("trap_negation_scope_weak_leg", """
Trap: negation scope. "no numbness or tingling but my right leg feels weak":
numbness is a no, leg weakness a yes (the negation stops at "but"). One weak
leg is UR-7, urgent.
""", ["> no numbness or tingling but my right leg feels weak since the back pain started on tuesday"],
  answers={"age": "> 50", "trigger": "> nothing"})

t("trap_typos_sciatica_numbness", """
Trap: typos. "lowr bak", "numbess", "rite" and "sciatia" typed as people type
them: the pain down the leg and the numbness are still read (not asked
again). Pain below the knee with pins and needles for 10 days is GP-3.
""", ["> my lowr bak hurts and theres numbess in my rite foot, sciatia down my leg to the calf, been 10 days"],
  answers={"age": "> 39", "onset": "> suddenly", "trigger": "> nothing", "pain_score": "> 5", "numbness": "> just the right foot"})

t("trap_relative_wife", """
Trap: a relative writing for someone else. "my wife ... she is 45": the bot
says it will ask as if talking to her, reads her age (not asked) and triages
her: self-care (SC-1).
""", ["> my wife has had lower back pain for 2 weeks, she is 45. she's fine otherwise, just sore"],
  answers={"onset": "> gradually", "trigger": "> she doesn't know", "pain_score": "> 4"})

# ---------------------------------------------------------------- dialogue mechanics and global intents
t("unclear_safety_answer_taken_as_yes", """
An unclear answer to a safety question (CLINICAL.md "Questions, in order"):
"maybe" is asked again in simpler words, and a second "not sure" is taken as
the cautious answer, yes, which here is an emergency (EM-2).
""", ["> my upper back has ached since this morning", "> maybe", "> not sure"])

t("unsure_to_a_non_safety_question", """
"Not sure" to a question that is not a safety question (fever) is accepted:
the bot moves on without asking again or assuming yes. The outcome is
self-care (SC-1).
""", ["> my back has been aching for a few days"],
  answers={"fever": "> not sure", "age": "> 40", "pain_location": "> lower back", "onset": "> gradually",
           "trigger": "> not sure", "pain_score": "> 3"})

t("choice_by_quick_reply_id", """
Every answer given by quick-reply id (">> id") as a widget sends it: yes/no
ids, an age range id and choice-topic ids, then the "causes" menu item after
the self-care outcome (SC-1).
""", ["> my lower back has hurt since the weekend"],
  answers={"age": ">> age_20_49", "pain_location": ">> lower", "onset": ">> gradual", "trigger": ">> none",
           "pain_score": ">> mild"},
  yes_no=">> no", after=[">> causes"])

t("quick_reply_titles_typed", """
Typing a quick reply's title as a message works like choosing it
(PROTOCOL.md): "No", "Not sure", the age range "20 to 49", "Nothing I know
of", "Mild (1 to 3)", and "Show me stretches" after the self-care outcome
(SC-1).
""", ["> sore back since last week"],
  answers={"fever": "> Not sure", "age": "> 20 to 49", "pain_location": "> Lower back", "onset": "> Gradually",
           "trigger": "> Nothing I know of", "pain_score": "> Mild (1 to 3)"},
  yes_no="> No", after=["> Show me stretches"])

t("bad_choice_changes_nothing", """
A choice the bot did not offer in its latest reply is a bad_choice error: a
menu item of a later state (">> stretches" during screening), an unknown id,
and "restart", never offered. Nothing changes: the question is answered
normally after each error.
""", ["> my back hurts after moving house", ">> stretches", ">> banana", ">> no", ">> restart", "> no"], auto=False)

t("empty_and_too_long_messages", """
An empty message is the protocol error "empty" and a message over 2,000
characters is "too_long"; neither ends the conversation or loses what was
said, and the question is answered normally afterwards.
""", ["> my lower back aches since yesterday", "> ", "> " + ("my back hurts so much, " * 100).strip(), "> no"], auto=False)

t("intent_help_during_screening", """
Global intent "help" in the middle of screening: the help text, then the same
question again; the person then answers it and screening goes on.
""", ["> my neck and upper back are stiff since I slept on it badly", "> no", "> help", "> no"], auto=False)

t("intent_start_over", """
Global intent "start over" after an outcome: everything said is forgotten, the
bot asks what is going on, and a new description starts a new screening from
the first safety question.
""", ["> fell off a horse yesterday and my back is killing me", "> start over",
      "> my lower back aches from sitting at my desk all week"])

t("intent_stretches_before_outcome_refused", """
"Show me stretches" before the outcome is refused politely: the bot will
suggest them once the safety questions are done, and asks its question again.
The conversation reaches self-care (SC-4) and the stretches are walked
through: next, next, done.
""", ["> lower back tight after a long drive yesterday", "> can you just show me some stretches please"],
  answers={"age": "> 30", "onset": "> gradually", "pain_score": "> 3"},
  after=["> ok show me the stretches now", "> next", "> next", "> done"])

t("intent_stretches_refused_at_urgent", """
No stretching at urgent (CLINICAL.md: never offer stretching in an emergency
or urgent outcome). After a UR-1 outcome, asking for stretches is refused and
the "stretches" quick reply is not offered, so choosing it is a bad_choice.
""", ["> back pain for 3 days and I've had a fever and the shivers"],
  answers={"age": "> 35", "trigger": "> nothing really"},
  after=["> can I do some stretches for it?", ">> stretches"])

t("intent_what_causes_this", """
Global intent "what causes this?": before the outcome the bot says it will go
through causes at the end and asks its question again; after a self-care
outcome (SC-2) it lists the likely causes.
""", ["> twinged my lower back shifting a heavy bookcase yesterday", "> what causes back pain like this?"],
  answers={"age": "> 26", "pain_score": "> 4"},
  after=["> so what's causing it?"])

t("intent_should_i_see_a_doctor", """
Global intent "should I see a doctor?": before the outcome the bot promises an
answer after a few questions; after a GP-5 outcome it restates how soon to
see a doctor and the signs that should change that.
""", ["> I'm 63 and my lower back has been aching for 5 days", "> do I need to see a doctor?"],
  answers={"onset": "> gradually", "trigger": "> nothing", "pain_score": "> 4"},
  after=["> should I see a doctor then?"])

t("intent_stop_and_come_back", """
Global intent "stop" during screening ends the conversation with the safety
advice; a later message starts a fresh conversation.
""", ["> my lower back is sore after football", "> no", "> stop", "> my back still hurts after football on saturday"], auto=False)

t("level_rises_after_outcome_never_falls", """
Levels only rise (CLINICAL.md "Four levels"): after a self-care outcome (SC-2),
"thanks" keeps it, and a new emergency sign (cannot pass urine, EM-1) raises
the advice to emergency, said as a change of advice.
""", ["> my lower back has been sore for 4 days since I helped a friend move, lifting furniture"],
  answers={"age": "> 37", "pain_location": "> lower back", "onset": "> suddenly", "pain_score": "> 4"},
  after=["> thanks", "> and since this afternoon I can't pee properly, I keep straining and nothing comes"])

t("ur6_colicky_pain_into_groin", """
UR-6 kidney stone: severe side pain that comes in waves down into the groin.
Urgent, reason kidney, not a back strain.
""", ["> agonising pain in my left side and back that comes in waves and goes down into my groin, started this afternoon"],
  answers={"age": "> 45", "trigger": "> nothing"})

t("gp2_pain_score_nine", """
GP-2 through the pain score: a lifting strain with no flags but pain of 9 out
of 10 (strong pain). Book a doctor soon; the lifting advice still follows.
""", ["> I hurt my back lifting a bag of cement on friday"],
  answers={"age": "> 48", "pain_location": "> lower back", "onset": "> straight away", "pain_score": "> honestly about 9"})

t("greeting_hello_then_description", """
A greeting on its own is not a description of the pain: the bot asks for one,
and the description that follows starts the safety questions. "no" and "yes"
ids, then the person leaves with "bye" (the stop intent).
""", ["> hi there", "> my lower back has been achy for a couple of days after gardening", ">> no", "> bye"], auto=False)

t("em1_everyday_words_for_bowel_loss", """
EM-1 in everyday words: to the bladder and bowel question the person says
urine is fine ("peeing's ok") but they cannot hold their poo. The "ok" about
urine does not make it a "no": the bowel loss is a new loss of control, so
the advice is the emergency department now.
""", ["> lower back pain since monday"],
  answers={"bladder_bowel": "> peeing's ok, cant hold my poo tho"})

t("em1_legs_just_gave_way", """
EM-1: "my legs just gave way this morning". "just" ends a negation's scope
("no numbness, just weakness") but otherwise belongs to the clause, so the
legs giving way are read as one sign: emergency at once, nothing asked.
""", ["> my legs just gave way this morning, back is sore"])

t("em7_swelling_far_beyond_normal_soreness", """
EM-7 without dark urine: after a long spin class the thighs and lower back
are massively swollen and rock hard, the pain "way beyond normal doms".
Marked swelling with soreness far beyond normal after hard exercise is
possible muscle breakdown even while the urine looks normal: emergency.
""", ["> did a spinathon yesterday, thighs and lower back are massively swollen and rock hard, pain is way beyond normal doms"])

t("trap_autumn_fall_and_falling_behind", """
Over-triage trap: "since last fall" (autumn) and "falling behind at work" are
not falls. Trauma is asked like any other safety question and answered no;
the desk-bound ache ends at self-care, not in the emergency department.
""", ["> my lower back has been achy on and off since last fall, worse when i sit at my desk, and im falling behind at work because of it"],
  answers={"age": "> 38", "onset": "> gradually", "trigger": "> sitting at my desk", "pain_score": "> 3"})

t("intent_medicine_and_diagnosis_questions", """
Questions the bot cannot answer: during the screening the person asks whether
they can take ibuprofen with their blood pressure tablets. The bot says
plainly it cannot advise on medicines or name a diagnosis, who can (a
pharmacist, a doctor), and asks its question again. After the advice, "is it
a slipped disc?" gets the same honest answer.
""", ["> my lower back has been sore for two days", "> can i take ibuprofen with my blood pressure tablets?"],
  answers={"age": "> 45", "onset": "> gradually", "trigger": "> not sure", "pain_score": "> 4"},
  after=["> is it a slipped disc?"])

t("sc4_pregnancy_stretches_without_lying_on_back", """
SC-4 at 30 weeks of pregnancy: an ache after standing all day, no flags,
self-care. The stretching plan leaves out the stretches done lying on the
back (not advised later in pregnancy) and none of its steps asks her to lie
on her front.
""", ["> im 30 weeks pregnant and my lower back is aching, worse after standing all day"],
  answers={"age": "> 31", "onset": "> gradually", "trigger": "> standing all day at work", "pain_score": "> 4"},
  after=["> show me the stretches", "> next", "> done"])

t("sc3_cool_down_walk_is_kept_up_for_minutes", """
SC-3 after a hard run: the stretching guide begins with the gradual cool-down,
an easy jog then a walk, which is kept up for about 10 minutes (not "held
for 600 seconds"); the next step is a stretch held 30 seconds, twice.
""", ["> my lower back and legs are sore after a hard 10k run yesterday"],
  answers={"age": "> 34", "onset": "> gradually", "dark_urine": "> no, normal", "pain_score": "> 3"},
  after=["> show me the stretches", "> next"])

t("stale_button_of_an_earlier_question", """
A button of a question that is no longer open: the person answers "no" to
the chest pain question, then "No" arrives again for the chest pain question
(clicked in another window, or tapped on an old Telegram message; the client
says which question its button belonged to). It is not taken as "no" to the
question open now: nothing changes, the bot says so and asks the open
question again, which the next "No" then answers.
""", ["> my lower back has been sore for two days", ">> no @chest_pain", ">> no @chest_pain", ">> no @tearing_pain"],
  auto=False)

t("em4_slipped_off_a_ladder", """
EM-4 with a slip word: "slipped off a ladder ... about 3 metres". A slip or
trip is a minor fall only on the level; off or down something high it is a
fall from height, so the advice is the emergency department at once.
""", ["> i slipped off a ladder yesterday, about 3 metres, and my back is killing me"])

t("trap_torn_muscle_and_sudden_lifting_strain", """
Over-triage trap: "I think I've torn a muscle in my back" after lifting, and
"yes, suddenly, as I lifted it" to the sudden or tearing pain question. A torn
or pulled muscle and a strain felt as it happened are not the tearing pain of
a torn blood vessel (EM-3): the screening goes on and ends at self-care.
""", ["> i think ive torn a muscle in my back lifting a heavy box this morning"],
  answers={"tearing_pain": "> suddenly yes, as i lifted it", "age": "> 36", "onset": "> suddenly as i lifted it",
           "pain_score": "> 5"})

# ------------------------------------------------- reading what people say
t("ctx_denial_with_red_flag_words", """
Reading what people say: a denial that holds red-flag words ("if my legs were
weak I'd know") is a denial, and the hypothetical sets nothing.
""", ["> hurt my lower back lifting a box at work two days ago"],
  answers={"leg_weakness": "> No, my legs are fine, if my legs were weak I'd know about it!", "age": "> 41"})

t("ctx_question_back_is_not_yes", """
Reading what people say: "what is tearing?" asked back is a question, not a
yes: the word is explained and the question asked again. Off-topic answers
and gibberish are never taken as yes: after two, the group is asked one sign
at a time, and a safety question still unanswered gets its own advice and is
named again in the outcome's safety net.
""", ["> sore lower back since I moved a sofa yesterday", "> sorry what is tearing?", "> what is the weather in Paris",
      "> blorf zzkq", "> what is the weather in Paris", "> blorf zzkq"],
  answers={"age": "> 33"})

t("ctx_someone_elses_history", """
Reading what people say: someone else's history ("my mum had cancer", "my
mother had osteoporosis") is not the person's own.
""", ["> my back has ached for a week since gardening"],
  answers={"cancer_history": "> No. My mum had cancer though, and my mother had osteoporosis", "age": "> 35"})

t("ctx_hypothetical_red_flag_asked", """
Reading what people say: a red flag named in a hypothetical sets nothing and
is asked about directly next.
""", ["> my lower back has been stiff for three days", "> if I got a fever would that matter?"],
  answers={"fever": "> no", "age": "> 30"})

t("ctx_hedged_red_flag_confirmed", """
Reading what people say: a hedged report of the person's own red flag gets
one direct confirming question; "not sure" to that is the cautious yes (EM-1).
""", ["> my back hurts and I think maybe it's a bit numb down there?", "> not sure"], auto=False)

t("ctx_benign_conditional_and_old_fall", """
Reading what people say: light-headed when skipping breakfast is not
faintness; a fall at 15 is not a recent fall; the rest is asked as usual.
""", ["> lower back ache for 5 days after a long drive. Not dizzy at all, although I do get a bit lightheaded if I skip breakfast. I fell off a horse when I was 15."],
  answers={"age": "> 44"})

t("ctx_strain_words_and_inhaler", """
Reading what people say: "felt something snap" is a strain (typo tolerance
does not make it "slap", foot drop); a steroid inhaler is not long-term
steroid tablets.
""", ["> felt something snap in my lower back picking up my toddler, I use a steroid inhaler for my asthma"],
  answers={"age": "> 29"})

# ---------------------------------------------- a conversation that listens
t("listen_questions_back_during_screening", """
Questions back are answered wherever they come, then the open question is
asked again: why it is asked, who the bot is, how many questions are left,
whether it is serious, whether stretching is safe.
""", ["> my lower back has ached for 4 days after gardening", "> why do you ask that?", "> are you a bot?",
      "> how many more questions?", "> is it serious?", "> is it safe to stretch?"],
  answers={"age": "> 38"})

t("listen_grouped_question_yes_asks_which_one", """
Fewer questions: the screening signs are asked as groups ("Do you have any of
these?"). A bare "yes" asks which one, with a button per sign; the sign picked
is set and the others that could still change the advice are asked again as a
group ("And any of these others?").
""", ["> my back has hurt since yesterday", "> none of these", "> yes", ">> cough_strain"],
  answers={"age": "> 38", "trigger": "> nothing really"})

t("listen_grouped_question_more_than_one", """
Fewer questions: "more than one" to "which one?" goes through the group's signs
one at a time; naming the sign reaches the emergency at once.
""", ["> my back has hurt since yesterday", "> yes", ">> several"],
  answers={"chest_pain": "> no", "tearing_pain": "> no", "saddle_numbness": "> yes, I can't feel the paper when I wipe"})

t("listen_grouped_question_which_one_in_words", """
Fewer questions: to "which one?" a person may answer in their own words
instead of a button. A bare "no" after a yes is unclear, never a denial: the
signs are asked one at a time.
""", ["> lower back pain for a week", "> yes", "> no"],
  answers={"cancer_history": ["> yes", "> I had breast cancer ten years ago"], "age": "> 52"})

t("listen_grouped_question_not_sure", """
Fewer questions: "not sure" to a group goes through its signs one at a time,
each asked plainly; "not sure" twice to a safety sign is the cautious yes.
""", ["> lower back pain for two days", "> not sure"],
  answers={"chest_pain": ["> not sure", "> no"], "tearing_pain": "> no", "saddle_numbness": "> no", "bladder_bowel": "> no",
           "leg_weakness": "> no", "trauma": "> no", "age": "> 45"})

t("listen_after_emergency_advice", """
After the advice the conversation goes on: putting off an emergency gets the
advice again, kindly and firmly; medicines go to the call handler, never a
pharmacist; pregnancy names the maternity unit too; thanks fit the level.
""", ["> sudden back pain and I can't feel anything down there when I wipe"],
  after=["> I'll wait till Monday", "> should I take an aspirin first?", "> I'm 20 weeks pregnant", "> thanks"])

t("listen_after_self_care_advice", """
After self-care advice: whether a scan is needed, what the cause means, the
bot's nature, thanks; a new red flag still raises the level.
""", ["> my back aches after a long day at my desk, 3 days now"],
  answers={"age": "> 31"},
  after=["> so I don't need a scan?", "> what does that cause mean?", "> are you a real person?", "> thanks 👍",
         "> actually I've had a fever since last night"])

t("listen_buttons_as_typed", """
Buttons as people type them: a bare number picks that button ("1" for "None
of these") unless the question asks for a number (age); thumbs down is no. In
the stretching guide "ok done" finishes the step it is on; "stop" ends the
routine, not the conversation.
""", ["> my lower back is sore after a long drive 2 days ago", "> 1", "> 👎", "> 34"],
  answers={"pain_score": "> 3"},
  after=["> show me the stretches", "> ok done", "> done", "> stop", "> thanks"])

t("listen_correction_confirmed_lowers_the_level", """
Corrections: "that's wrong, my legs are fine" after an emergency read from
"both legs feel weak" names the findings the bot holds and asks before
changing them; "no" keeps them; asked again and confirmed, the bot
re-assesses, and only this way may the level fall. "I meant no" corrects the
answer just given.
""", ["> my lower back hurts and both my legs feel weak and heavy", "> that's wrong, my legs are fine", "> no",
      "> that's wrong, my legs are fine", "> yes"],
  answers={"age": "> 40"})

t("ctx_hedged_weakness_words", """
Reading what people say: "wobbly", "like jelly" may or may not be weakness:
the weakness question is asked directly. "No, they work fine" ends it; still
hedged when asked directly is as unclear as "not sure", and the cautious yes
then counts for what the words named (both legs: EM-1).
""", ["> first leg day at the gym on monday, now my back and legs feel wobbly", "> no, they work fine, just sore",
      "> start over", "> my back hurts", "> both my legs feel like jelly", "> both my legs feel like jelly"], auto=False)

t("ctx_pain_score_and_duration_in_their_words", """
Reading what people say: "done my back in about 4 wks ago ... at work" is how
long the pain has lasted (a word about the pain stands nearer the number than
"work"), so "no better than week 1" after four weeks is GP-1. A score given
for moving and for resting ("8 when I move, 2 sitting still") is read as the
pain most of the time: a strain that hurts only on movement is self-care.
""", ["> alrite, done my back in about 4 wks ago liftin plasterboard at work. no better than wk 1 tbh"],
  answers={"age": "> 35", "pain_score": "> 5 most days, 7 on a bad day"},
  after=["> start over", "> my back went this morning bending down for a sock", "> no", "> no", "> 38", "> no",
         "> 8 when I move, 2 sitting still"])

t("ctx_vague_bladder_change_confirmed", """
Reading what people say: "pee's been a bit weird" is a vague report of the
person's own red flag: one direct question confirms it. "Not sure really ...
like I don't fully empty?" is not a "no" (the "don't" belongs to the sign's
own words, and "not sure really" is unsure): the cautious yes, EM-1.
""", ["> 38 f, back's been bad since i lifted my toddler out of the bath 2 wks ago. pee's been a bit weird the last day or two tbh",
      "> not sure really, just feels different, like i dont fully empty?"], auto=False)

t("ctx_red_flags_in_everyday_words", """
Reading what people say: red flags described, not named, count as the sign:
"can't really feel the paper properly when I wipe" is saddle numbness even
played down ("prob nothing lol"), and "takes an age to get going when I pee"
is new hesitancy (EM-1), within two turns.
""", ["> 52 yo woman. lower back went on saturday moving a sofa. since this morning i cant really feel the paper properly when i wipe. prob nothing lol",
      "> start over", "> back sore for 4 days after gardening",
      "> not really... only thing is since yesterday it takes an age to get going when i pee, never had that before"], auto=False)

t("ctx_leg_signs_one_or_both_legs", """
A yes to leg numbness, leg weakness or pain below the knee leaves open the
one thing that makes it an emergency: both legs (EM-1). The bot asks once,
as the same topic, "in one leg only?": "both legs, both feet" is EM-1 at
once. A plain "no" to that is unclear (both? not any more?), so it is asked
again in words, never read as both legs; "just the left one" is one leg.
""", ["> lower back pain for a week, im 40, no injury", "> no", "> no", "> yes, pins and needles",
      "> both legs, both feet, since the weekend", "> start over", "> lower back pain for a week, im 40, no injury", "> no",
      "> no", "> yes, pins and needles", "> no", "> just the left one"],
  answers={"trigger": "> no idea", "after_exercise": "> no"})

t("listen_restated_answer_is_not_a_correction", """
Grouped questions: "coughing makes it shoot down my leg, otherwise no" names
one sign and denies the rest of the group.
Corrections: asked to confirm a change, a person who restates the finding
("yes coughing makes it shoot down my leg") keeps it: the level does not fall
on a misread "yes".
""", ["> sciatica down my right leg for 5 weeks, pins and needles in my foot for 2 weeks. 38", "> no",
      "> coughing makes it shoot down my leg a bit, otherwise no", "> that's wrong, coughing doesn't matter",
      "> yes coughing makes it shoot down my leg"],
  answers={"age": "> 38"})

t("listen_i_said_no_is_an_answer", """
Corrections: "no i said no pain in legs" to an open question restates an
answer and is taken as that answer, never a correction of nothing (which
used to loop: "Sorry, I'm not sure what to change").
""", ["> lower back sore since deadlifting yesterday, no pain in legs, 29", "> no", "> no"],
  answers={"radiates_below_knee": "> no i said no pain in legs"})

t("listen_after_emergency_doubts", """
After the advice (CLINICAL.md "After the advice"): a delay in slang ("see
how it is tomoz"), not wanting to waste an ambulance, or another plan ("he
won't let me call, he'll lie down first") gets the emergency advice again,
kindly and firmly; a remark the bot does not follow after emergency advice
gets the advice again too, never the menu alone.
""", ["> since yesterday my back is agony and both my legs are numb, and I can't feel the paper when I wipe"],
  after=["> seriously?? i'll see how it is tomoz, dont want to waste an ambulance",
         "> he wont let me call, says he'll lie down for an hour first", "> my cat is called Bella"])

t("ctx_pain_limits_walking_weakness_asked", """
Reading what people say: "some days I can barely walk because it hurts" is
pain limiting movement, not weakness, and not a "no" either: the weakness
question is asked (a foot drop would make it UR-7). "Some days" is how often,
not how long: the pain has lasted 5 weeks.
""", ["> pain from my lower back down the back of my right leg into my calf, 5 weeks now. pins and needles in my foot for about 2 wks. some days i can barely walk because it hurts so much. im 38"],
  answers={"leg_weakness": "> no, it's just the pain"})

t("ctx_tag_question_hypothetical_then_tearing_explained", """
Reading what people say: "If it was his heart he'd have chest pain, wouldn't
he?" is a hypothetical and a question, not chest pain: chest pain is asked
next, plainly. "What do you mean by tearing?" is explained, then the
question comes again; a ripping pain in a 66-year-old is EM-3.
""", ["> I'm typing for my husband, he's 66. About half an hour ago his back started hurting up between his shoulder blades while he was just sitting watching the telly. He says it's his disc again. If it was his heart he'd have chest pain, wouldn't he?",
      "> No chest pain, he says it's all in his back.", "> What do you mean by tearing? Like a pulled muscle?",
      "> Oh. Then yes - it came on all at once, he says it feels like something ripping inside, and he's gone grey and clammy."],
  auto=False)
