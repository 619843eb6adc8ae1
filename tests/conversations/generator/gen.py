#!/usr/bin/env python3
"""Writes golden transcript inputs by driving the engine: each spec gives the
opening lines, answers per topic (used whenever the bot asks that topic) and
lines for after the bot stops asking. The player then fills in the bot lines.
Run it when the rules change which questions are asked, then review the diff:

  tests/conversations/generator/gen.py BUILD/tests/conversations/backtalk_transcripts tests/conversations [NAME...]
  BACKTALK_UPDATE_GOLDEN=1 BUILD/tests/conversations/backtalk_transcripts tests/conversations/*_*.txt
"""
import json, os, subprocess, sys
from specs import SPECS

PLAYER = sys.argv[1] if len(sys.argv) > 2 else ""

def drive(spec):
    p = subprocess.Popen([PLAYER, "--json"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, bufsize=1)
    lines = []
    last = []
    def send(line):
        nonlocal last
        if line.startswith(">> "):
            choice, _, asking = line[3:].partition(" @")
            obj = {"type": "choice", "id": choice}
            if asking:
                obj["asking"] = asking
        else:
            assert line.startswith("> "), line
            obj = {"type": "message", "text": line[2:]}
        p.stdin.write(json.dumps(obj) + "\n"); p.stdin.flush()
        lines.append(line)
        out = []
        while True:
            o = json.loads(p.stdout.readline()); out.append(o)
            if o.get("end_of_turn"): break
        if out[-1]["type"] == "reply":
            last = out
    for line in spec["opening"]:
        send(line)
    answers = {k: (list(v) if isinstance(v, list) else [v]) for k, v in spec.get("answers", {}).items()}
    for _ in range(60 if spec.get("auto", True) else 0):
        if not last or not last[-1].get("asking"):
            break
        topic = last[-1]["asking"]
        queue = answers.get(topic)
        # A grouped question (covers): the answer of the first covered topic
        # the spec gives, else the plain answer to a yes/no question.
        covers = last[-1].get("covers") or []
        if covers:
            named = [t for t in covers if answers.get(t)]
            queue = answers[named[0]] if named else [spec.get("yes_no", "> no")]
        if queue:
            line = queue.pop(0) if len(queue) > 1 else queue[0]
        else:
            yes_no = last[-1]["quick_replies"] and last[-1]["quick_replies"][0]["id"] == "yes"
            line = spec.get("yes_no", "> no") if yes_no else spec.get("other", "> not sure")
        send(line)
    for line in spec.get("after", []):
        send(line)
    p.stdin.close(); p.wait()
    return lines

def main():
    if len(sys.argv) < 3:
        sys.exit("usage: gen.py PLAYER OUTDIR [NAME...]")
    out = sys.argv[2]
    names = sys.argv[3:] or list(SPECS)
    for name in names:
        spec = SPECS[name]
        lines = drive(spec)
        with open(os.path.join(out, name + ".txt"), "w") as f:
            for c in spec["comment"].strip().splitlines():
                f.write("# " + c + "\n" if c else "#\n")
            for l in lines:
                f.write(l + "\n")
    print(len(names), "transcripts written")

main()
