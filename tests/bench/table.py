#!/usr/bin/python3
"""table.py - print the benchmark rows as one plain-text table.

    table.py ROWS.jsonl [--title TEXT]

ROWS.jsonl holds one JSON object per line, as the tests/bench/bench_*.sh scripts print them:

    {"row": "a", "what": "...", "ours": 6.1, "kernel": 13.2, "unit": "Gbit/s",
     "ratio": 0.46, "target": "ratio >= 0.50", "pass": false, "note": "..."}

A "what" longer than 64 characters is wrapped.  ours, kernel, ratio may be null (printed as an em dash), pass true, false or null (no
target: "-"); note is optional and printed under the table with the row's name (each
distinct note once).  Rows are printed by name, one-letter names first (a, b, c, ..., then
"loss"), in the order given within a name.  Lines that are not JSON objects with a "row" are skipped.
Prints the number of targets met and missed on the last line.  Standard library only.
"""

import json
import sys
import textwrap

WHAT_MAX = 64  # the "what" column wraps beyond this width
COLS = [("row", "row"), ("what", "what"), ("ours", "ours"), ("kernel", "kernel"),
        ("unit", "unit"), ("ratio", "ratio"), ("target", "target"), ("pass", "pass")]


def fmt_num(v):
    if v is None:
        return "\u2014"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    a = abs(v)
    if a >= 100:
        return "%.0f" % v
    if a >= 10:
        return "%.1f" % v
    return "%.2f" % v if a >= 1 else "%.3f" % v


def cell(r, key):
    v = r.get(key)
    if key == "pass":
        return {True: "PASS", False: "FAIL"}.get(v, "-")
    if key in ("ours", "kernel", "ratio"):
        return fmt_num(v)
    return "" if v is None else str(v)


def main():
    args = sys.argv[1:]
    title = None
    if "--title" in args:
        i = args.index("--title")
        title = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        sys.exit("usage: table.py ROWS.jsonl [--title TEXT]")
    rows = []
    with open(args[0], errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if isinstance(r, dict) and "row" in r:
                rows.append(r)
    rows.sort(key=lambda r: (len(str(r["row"])) > 1, str(r["row"])))
    # A long "what" is wrapped over several lines of its own column.
    table = [[h for _, h in COLS]]
    iw = [k for k, _ in COLS].index("what")
    for r in rows:
        t = [cell(r, k) for k, _ in COLS]
        parts = textwrap.wrap(t[iw], WHAT_MAX) or [""]
        t[iw] = parts[0]
        table.append(t)
        for more in parts[1:]:
            table.append(["" if i != iw else "  " + more for i in range(len(COLS))])
    width = [max(len(t[i]) for t in table) for i in range(len(COLS))]
    right = {"ours", "kernel", "ratio"}

    def line(t):
        out = []
        for (k, _), w, c in zip(COLS, width, t):
            out.append(c.rjust(w) if k in right else c.ljust(w))
        return "  ".join(out).rstrip()

    if title:
        print(title)
    print(line(table[0]))
    print("  ".join("-" * w for w in width))
    for t in table[1:]:
        print(line(t))
    notes = []
    for r in rows:
        if r.get("note") and (r["row"], r["note"]) not in notes:
            notes.append((r["row"], r["note"]))
    for row, note in notes:
        print("  (%s) %s" % (row, note))
    met = sum(1 for r in rows if r.get("pass") is True)
    missed = sum(1 for r in rows if r.get("pass") is False)
    print("%d rows, %d targets met, %d missed, %d without a target"
          % (len(rows), met, missed, len(rows) - met - missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
