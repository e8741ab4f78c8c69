#!/usr/bin/env python3
"""Checks a soak run (benches/soak.sh): every injected fault shows up correctly in `wiredesk sources`,
every healthy source is healthy, and the published feed kept changing. Prints a summary; exit 1 on a miss."""
import json
import re
import sys
from collections import Counter

work = sys.argv[1]
expected = {}
fault = None
for line in open(f"{work}/feeds.toml"):
    m = re.match(r"# fault: (\S+)", line)
    if m:
        fault = m.group(1)
    m = re.match(r'url = "(.*)"', line)
    if m:
        expected[m.group(1)] = fault
        fault = None

def verdict(kind, s):
    """Whether source row `s` shows fault `kind` the way an operator should see it."""
    result, reason = s.get("last_result") or "", s.get("due_reason")
    if kind in ("429", "503"):
        return result == f"error (http-{kind})" and reason in ("retry-after", "backoff", "quarantine")
    if kind in ("301", "308"):
        return bool(s.get("moved_to")) and s.get("consecutive_errors") == 0
    if kind == "302":
        return not s.get("moved_to") and s.get("consecutive_errors") == 0
    if kind == "410":
        return s.get("gone") is True and s.get("next_due") is None
    if kind in ("hang", "timeout"):
        return result == "error (timeout)" and reason == "backoff"
    if kind == "malformed":
        return result == "error (parse)" and reason in ("backoff", "schedule")
    return s.get("consecutive_errors") == 0 and s.get("last_polled") is not None

rows = [json.loads(l) for l in open(f"{work}/sources.jsonl")]
by_kind, misses = Counter(), []
for s in rows:
    kind = expected.get(s["url"]) or "healthy"
    by_kind[kind] += 1
    if not verdict(kind, s):
        misses.append((kind, s["url"], s.get("last_result"), s.get("due_reason"), s.get("last_error")))
samples = [l.split() for l in open(f"{work}/samples.txt")]
etags = {s[1] for s in samples if len(s) > 1}
unhealthy = [s for s in samples if s[-1] != "200"]
print(f"sources: {len(rows)}; by fault: {dict(by_kind)}")
print(f"fault shown correctly: {len(rows) - len(misses)}/{len(rows)}")
for m in misses[:20]:
    print("  MISS", m)
print(f"published feed samples: {len(samples)}, distinct ETags: {len(etags)}, /healthz failures: {len(unhealthy)}")
metrics = open(f"{work}/metrics.txt").read()
for name in ("wiredesk_polls_total", "wiredesk_items_total", "wiredesk_dedup_total"):
    for line in metrics.splitlines():
        if line.startswith(name):
            print(" ", line)
ok = not misses and len(etags) >= max(2, len(samples) // 3) and not unhealthy
print("soak:", "PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
