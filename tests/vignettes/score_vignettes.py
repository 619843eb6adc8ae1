#!/usr/bin/env python3
"""Plays the project's patient vignettes against a bot that speaks PROTOCOL.md
one JSON object per line, and checks the triage it reaches.

usage: score_vignettes.py --bot "CMD ..." [--min-exact 0.9] [--verbose] FILE.json...

A vignette is a person: the messages they send first, and how they answer
each follow-up question (keyed by protocol topic id). Answers are typed as a
person would type them, never as quick-reply ids. A yes/no topic the vignette
does not list is answered "no"; a free-text topic ("where", "how long") is
answered "I'm not sure". A list answers successive asks of one topic (the
last repeats). "{db}" in the command becomes a fresh database file per
vignette. As in ../shared/eval/triage_eval.py, `during` replaces the first
answer to a topic with a side question and checks the reply, and `after` is
said once the advice is given and checked the same way ("listening").

Prints one line per vignette and a JSON summary last. Exits 1 when an
emergency or urgent case ends lower (or with no advice), when exact agreement
is below --min-exact, or when a vignette file is malformed.
"""
import argparse
import json
import re
import os
import selectors
import shlex
import subprocess
import sys
import tempfile
import time

LEVELS = ("self_care", "gp_soon", "urgent", "emergency")
SERIOUS = ("urgent", "emergency")
FREE_TEXT_TOPICS = {"pain_location", "duration", "onset", "trigger", "pain_score", "age"}
MAX_TURNS = 30
REPLY_TIMEOUT_S = 10.0

# Ways people type a plain answer; rotated so the matcher sees all of them.
TYPED_YES = ("yes", "yeah", "yes I have", "yep, I do")
TYPED_NO = ("no", "nope", "no I haven't", "not at all", "no, nothing like that")
TYPED_UNSURE = "I'm not sure"


class VignetteError(Exception):
    pass


def typed_answer(value, turn, ask=0):
    """The text a person types for an answer given in a vignette; a list
    answers successive asks of the topic, its last item repeating."""
    if isinstance(value, list):
        value = value[min(ask, len(value) - 1)] if value else None
    if value is None:
        return TYPED_UNSURE
    if value is True or (isinstance(value, str) and value.strip().lower() in ("yes", "y", "true")):
        return TYPED_YES[turn % len(TYPED_YES)]
    if value is False or (isinstance(value, str) and value.strip().lower() in ("no", "n", "false")):
        return TYPED_NO[turn % len(TYPED_NO)]
    return str(value)


def unlisted_answer(topic, turn):
    # A symptom the vignette does not mention is one the person does not have.
    return TYPED_UNSURE if topic in FREE_TEXT_TOPICS else TYPED_NO[turn % len(TYPED_NO)]


DENIAL = re.compile(r"^\W*(no|nope|nah|not|never|none|neither|nothing|i don'?t|i do not|i haven'?t|i have not|i'?m not)\b", re.I)


def grouped_answer(answers, covers, turn, asks):
    """How a person answers "do you have any of these?" (PROTOCOL.md covers): the
    first covered answer that is not a denial, else the first denial that says
    more than "no", else "no, none of those" (as ../shared/eval/triage_eval.py).
    The topic whose answer is given counts as asked once more."""
    said = [(t, typed_answer(answers[t], turn, asks.get(t, 0)) if t in answers else unlisted_answer(t, turn)) for t in covers]
    chosen = next(((t, text) for t, text in said if not DENIAL.match(text)), None) or \
        next(((t, text) for t, text in said if text.lower().strip(" .!") not in [w.lower() for w in TYPED_NO]), None)
    if not chosen:
        return "no, none of those"
    asks[chosen[0]] = asks.get(chosen[0], 0) + 1
    return chosen[1]


class Bot:
    """One bot process for one conversation."""

    def __init__(self, command):
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.process.stdout, selectors.EVENT_READ)
        self.unread = b""  # bytes received after the last complete line

    def _line(self, deadline):
        # Reads the pipe directly: a buffered reader could hold lines that select() no longer sees.
        while b"\n" not in self.unread:
            if not self.selector.select(timeout=max(0.0, deadline - time.monotonic())):
                raise RuntimeError("no end_of_turn within %.0f s" % REPLY_TIMEOUT_S)
            chunk = os.read(self.process.stdout.fileno(), 65536)
            if not chunk:
                raise RuntimeError("the bot closed its output")
            self.unread += chunk
        line, self.unread = self.unread.split(b"\n", 1)
        return line.decode("utf-8")

    def send(self, obj):
        """Sends one client object and returns the bot's objects up to end_of_turn."""
        self.process.stdin.write((json.dumps(obj) + "\n").encode("utf-8"))
        self.process.stdin.flush()
        received = []
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        while True:
            message = json.loads(self._line(deadline))
            received.append(message)
            if message.get("end_of_turn"):
                return received

    def close(self):
        try:
            self.process.stdin.close()
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        self.selector.close()


def heard(check, replies):
    """Whether the bot's replies to a side remark meet a during/after check."""
    text = "\n".join(str(r.get("text", "")) for r in replies)
    return (not check.get("expect_any") or any(re.search(p, text, re.I) for p in check["expect_any"])) and \
        not any(re.search(p, text, re.I) for p in check.get("expect_none", []))


def play(command, vignette, verbose):
    """Runs one conversation; returns (level, reasons, topics asked, turns,
    error, listening checks passed, listening checks)."""
    level, reasons, asked, turns, error = None, [], [], 0, None
    log = []
    during = {d["topic"]: d for d in vignette.get("during", [])}
    after = list(vignette.get("after", []))
    checks, passed = 0, 0
    asks = {}  # topic -> times asked so far
    with tempfile.TemporaryDirectory() as scratch:
        bot = Bot([word.replace("{db}", os.path.join(scratch, "vignette.db")) for word in command])
        try:
            replies = bot.send({"type": "start"})
            pending = list(vignette["messages"])
            answers = vignette.get("answers", {})
            while turns < MAX_TURNS:
                check = None
                if pending:
                    text = pending.pop(0)
                elif not replies[-1].get("asking") and level and after:
                    check = after.pop(0)
                    text = check["say"]
                else:
                    topic = replies[-1].get("asking")
                    if not topic:
                        break
                    covers = replies[-1].get("covers") or []
                    side = next((t for t in ([topic] + covers) if t in during), None)
                    if side:
                        check = during.pop(side)
                        text = check["say"]
                    elif covers:
                        text = grouped_answer(answers, covers, turns, asks)
                        asked.extend(covers)
                    else:
                        asked.append(topic)
                        text = typed_answer(answers[topic], turns, asks.get(topic, 0)) if topic in answers else unlisted_answer(topic, turns)
                        asks[topic] = asks.get(topic, 0) + 1
                turns += 1
                log.append("you: " + text)
                replies = bot.send({"type": "message", "text": text})
                if check:
                    checks += 1
                    passed += 1 if heard(check, replies) else 0
                for reply in replies:
                    log.append("bot: " + str(reply.get("text", reply.get("message", ""))).split("\n")[0][:160])
                    triage = reply.get("triage")
                    if triage and triage.get("level"):
                        level, reasons = triage["level"], list(triage.get("reasons", []))
                if level and not pending and not replies[-1].get("asking") and not after:
                    break
        except (RuntimeError, ValueError, OSError) as e:  # a crash or a bad line fails the case, not the run
            error = str(e)
        finally:
            bot.close()
    if verbose:
        for line in log:
            print("      " + line)
    return level, reasons, asked, turns, error, passed, checks


def load(paths):
    cases, seen = [], set()
    for path in paths:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        for v in doc["vignettes"] if isinstance(doc, dict) else doc:
            for key in ("id", "messages", "expected_level"):
                if key not in v:
                    raise VignetteError("%s: a vignette lacks %r" % (path, key))
            if v["id"] in seen:
                raise VignetteError("%s: duplicate vignette id %s" % (path, v["id"]))
            if v["expected_level"] not in LEVELS:
                raise VignetteError("%s: %s has unknown level %r" % (path, v["id"], v["expected_level"]))
            seen.add(v["id"])
            cases.append(v)
    return cases


def score(cases, command, verbose):
    rows = []
    for v in cases:
        want = v["expected_level"]
        got, reasons, asked, turns, error, heard_ok, checks = play(command, v, verbose)
        shift = LEVELS.index(got) - LEVELS.index(want) if got in LEVELS else None
        causes = set(v.get("acceptable_causes") or []) | ({v["expected_cause"]} if v.get("expected_cause") else set())
        row = {
            "id": v["id"], "want": want, "got": got, "turns": turns, "error": error,
            "exact": shift == 0,
            "acceptable": got == want or got in (v.get("acceptable_levels") or []),
            # Gilbert et al. 2020: right, more cautious, or one level lower except for emergencies.
            "safe": shift is not None and (shift >= 0 or (shift == -1 and want != "emergency")),
            "serious_under": want in SERIOUS and (shift is None or shift < 0),
            "over": shift is not None and shift > 0,
            "cause_ok": bool(causes & set(reasons[:2])) if causes else None,
            "heard": heard_ok, "checks": checks,
        }
        rows.append(row)
        verdict = "ok" if row["exact"] else ("NONE" if shift is None else ("over" if shift > 0 else "UNDER"))
        print("%-5s want=%-9s got=%-9s %-5s cause=%s turns=%-2d%s asked=%s%s" % (
            v["id"], want, got, verdict, "ok" if row["cause_ok"] else "--", turns,
            " listening=%d/%d" % (heard_ok, checks) if checks else "", ",".join(asked),
            "  error: " + error if error else ""))
    return rows


def summarise(rows):
    n = max(1, len(rows))

    def share(key, subset=None):
        subset = rows if subset is None else subset
        return round(sum(1 for r in subset if r[key]) / max(1, len(subset)), 3)

    emergencies = [r for r in rows if r["want"] == "emergency"]
    self_care = [r for r in rows if r["want"] == "self_care"]
    return {
        "cases": len(rows),
        "per_level": {lvl: sum(1 for r in rows if r["want"] == lvl) for lvl in LEVELS},
        "exact": share("exact"),
        "acceptable": share("acceptable"),
        "safe": share("safe"),
        "emergency_caught": round(sum(1 for r in emergencies if r["got"] == "emergency") / max(1, len(emergencies)), 3),
        "serious_under_triaged": sum(1 for r in rows if r["serious_under"]),
        "self_care_exact": round(sum(1 for r in self_care if r["got"] == "self_care") / max(1, len(self_care)), 3),
        "over_triaged": share("over"),
        "no_outcome": sum(1 for r in rows if r["got"] is None),
        "cause_named": share("cause_ok", [r for r in rows if r["cause_ok"] is not None]),
        "mean_turns": round(sum(r["turns"] for r in rows) / n, 1),
        "emergency_max_turns": max((r["turns"] for r in emergencies), default=0),
        # Side questions during the interview and remarks after the advice answered as the vignette expects.
        "listening_ok": round(sum(r["heard"] for r in rows) / sum(r["checks"] for r in rows), 3)
        if any(r["checks"] for r in rows) else None,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", help="vignette files (JSON)")
    parser.add_argument("--bot", required=True, help='bot command, e.g. "backtalk chat --json --db {db}"')
    parser.add_argument("--min-exact", type=float, default=0.9, help="fail below this share of exact levels")
    parser.add_argument("--verbose", action="store_true", help="print each conversation")
    args = parser.parse_args()
    try:
        cases = load(args.files)
    except (OSError, ValueError, KeyError, TypeError, VignetteError) as e:
        print("vignettes: %s" % e, file=sys.stderr)
        return 1
    if not cases:
        print("vignettes: no vignettes in %s" % ", ".join(args.files), file=sys.stderr)
        return 1
    summary = summarise(score(cases, shlex.split(args.bot), args.verbose))
    print(json.dumps(summary))
    failures = []
    if summary["serious_under_triaged"]:
        failures.append("%d emergency or urgent case(s) sent lower" % summary["serious_under_triaged"])
    if summary["exact"] < args.min_exact:
        failures.append("exact %.3f is below %.3f" % (summary["exact"], args.min_exact))
    for failure in failures:
        print("FAIL: " + failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
