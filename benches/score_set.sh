#!/usr/bin/env bash
# Scores one dedup set end to end: serves SET/feeds on 127.0.0.1:PORT, polls once with BIN into a fresh
# database (wires at priority PRIO, default 10), lists stories and runs the set's scorer.
# Usage: benches/score_set.sh BIN SET_DIR PORT [PRIO]   e.g. target/release/wiredesk ../shared/dedup-unknown 8792
# EXTRA_TOML='[dedup]\ndefer_after_items = 0' appends to the generated config (\n for new lines).
# Prints the scorer's summary line, precision, recall, recall by dictionary, false merges, follow-ups merged
# and representative_is_original. KEEP_STORIES=path keeps the stories the scorer read.
set -euo pipefail
BIN=$(readlink -f "$1"); SET=$(readlink -f "$2"); PORT=$3; PRIO=${4:-10}
W=$(mktemp -d /tmp/score.XXXXXX)
( cd "$SET/feeds" && exec python3 -m http.server "$PORT" --bind 127.0.0.1 ) >/dev/null 2>&1 &
SRV=$!
trap 'kill $SRV 2>/dev/null; rm -rf "$W"' EXIT
sleep 0.7
python3 - "$SET" "$PORT" "$PRIO" "$W" <<'PY'
import json, os, sys
set_dir, port, prio, w = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
m = json.load(open(os.path.join(set_dir, "manifest.json")))
wires = {s["id"] for s in m["sources"] if s["kind"] == "wire"}
t = f'[server]\nlisten = "127.0.0.1:9"\nbase_url = "http://127.0.0.1:9"\n[storage]\npath = "{w}/db.sqlite"\nretention_days = 0\n[defaults]\nschedule = "0 0 1 1 *"\n[[sections]]\nid = "all"\ntitle = "All"\n'
for f in sorted(os.listdir(os.path.join(set_dir, "feeds"))):
    n = f[:-4]
    t += f'[[sources]]\nname = "{n}"\nurl = "http://127.0.0.1:{port}/{f}"\nsections = ["all"]\npriority = {prio if n in wires else 0}\n'
t += '[fetch]\nallow_networks = ["127.0.0.1/32"]\n'
t += os.environ.get("EXTRA_TOML", "").replace("\\n", "\n") + "\n"
open(os.path.join(w, "feeds.toml"), "w").write(t)
PY
"$BIN" poll --once --config "$W/feeds.toml" >/dev/null 2>"$W/poll.log" || { tail -5 "$W/poll.log"; }
grep -h "stories settled" "$W/poll.log" | sed 's/.*INFO //' >&2 || true
"$BIN" stories --json --config "$W/feeds.toml" > "$W/stories.jsonl"
[ -n "${KEEP_STORIES:-}" ] && cp "$W/stories.jsonl" "$KEEP_STORIES"
python3 "$(dirname "$SET")/dedup-dev/tools/score.py" --truth "$SET/truth.jsonl" --stories "$W/stories.jsonl" > "$W/report.txt"
python3 - "$W/report.txt" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
last = text.strip().splitlines()[-1]
r = json.loads(text[:text.rfind(last)])
pw = r["pairwise"]
bd = r.get("recall_by_dict", {})
print(last, "| P %.4f R %.4f" % (pw["precision"], pw["recall"]),
      "| dict", {k: round(v["recall"], 4) if isinstance(v, dict) else v for k, v in bd.items()},
      "| fm", r["false_merges"], "fu", r["followup_pairs_merged"],
      "| rep", r.get("representative_is_original"))
PY
