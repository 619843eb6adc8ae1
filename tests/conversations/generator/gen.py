#!/usr/bin/env python3
"""Re-drives golden transcripts whose questions depend on the rules. The
transcript is the one source of its inputs: a header line

  #% {"opening": 2, "answers": {"age": "> 46"}, "after": 1}

says that its first 2 inputs open the conversation, that each question the
bot asks is answered from `answers` by topic (a list is used in turn, its
last entry repeated; a grouped question takes the answer of the first
covered topic named, else the plain "> no"; "yes_no" and "other" replace
the default answers "> no" and "> not sure"), and that its last input comes
after the bot stops asking. Transcripts without the line are replayed as
they are. Run it when the rules change which questions are asked, then
review the diff; to add a transcript, write its comment, the `#%` line and
its opening inputs, then run this with its name:

  tests/conversations/generator/gen.py BUILD/tests/conversations/backtalk_transcripts tests/conversations [NAME...]
"""
import glob
import json
import os
import subprocess
import sys


def read(path):
    """The header (comments and the directive), the directive and the inputs."""
    header, directive, inputs = [], None, []
    for line in open(path).read().splitlines():
        if line.startswith("#"):
            header.append(line)
            if line.startswith("#% "):
                directive = json.loads(line[3:])
        elif line.startswith("> ") or line.startswith(">> "):
            inputs.append(line)
    return header, directive, inputs


def drive(player, directive, inputs):
    """The inputs of a conversation played by the rules of `directive`."""
    opening = inputs[:directive["opening"]]
    after = inputs[len(inputs) - directive.get("after", 0):] if directive.get("after") else []
    default_yes_no = directive.get("yes_no", "> no")
    default_other = directive.get("other", "> not sure")
    answers = {k: (list(v) if isinstance(v, list) else [v]) for k, v in directive.get("answers", {}).items()}
    p = subprocess.Popen([player, "--json"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, bufsize=1)
    lines, last = [], []

    def send(line):
        nonlocal last
        if line.startswith(">> "):
            choice, _, asking = line[3:].partition(" @")
            obj = {"type": "choice", "id": choice}
            if asking:
                obj["asking"] = asking
        else:
            obj = {"type": "message", "text": line[2:]}
        p.stdin.write(json.dumps(obj) + "\n")
        p.stdin.flush()
        lines.append(line)
        out = []
        while True:
            o = json.loads(p.stdout.readline())
            out.append(o)
            if o.get("end_of_turn"):
                break
        if out[-1]["type"] == "reply":
            last = out

    for line in opening:
        send(line)
    for _ in range(60):
        if not last or not last[-1].get("asking"):
            break
        queue = answers.get(last[-1]["asking"])
        covers = last[-1].get("covers") or []
        if covers:
            named = [t for t in covers if answers.get(t)]
            queue = answers[named[0]] if named else [default_yes_no]
        if queue:
            line = queue.pop(0) if len(queue) > 1 else queue[0]
        else:
            yes_no = last[-1]["quick_replies"] and last[-1]["quick_replies"][0]["id"] == "yes"
            line = default_yes_no if yes_no else default_other
        send(line)
    for line in after:
        send(line)
    p.stdin.close()
    p.wait()
    return lines


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: gen.py PLAYER DIR [NAME...]")
    player, folder = sys.argv[1], sys.argv[2]
    names = sys.argv[3:] or sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(folder, "*_*.txt")))
    written = []
    for name in names:
        path = os.path.join(folder, name + ".txt")
        header, directive, inputs = read(path)
        if directive is not None:
            inputs = drive(player, directive, inputs)
        with open(path, "w") as f:
            f.write("".join(line + "\n" for line in header + inputs))
        written.append(path)
    # The bot's lines, filled in by the player itself.
    subprocess.run([player] + written, env=dict(os.environ, BACKTALK_UPDATE_GOLDEN="1"),
                   stdout=subprocess.DEVNULL, check=True)
    print(len(written), "transcripts written")


main()
