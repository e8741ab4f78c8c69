#!/usr/bin/env python3
"""Order dependence of story dedup.

Polls a dedup set N times, each time with the feed order and every feed's item order shuffled (seed 0..N-1)
and one feed fetched at a time, then compares each run's partition (sets of member guids) with seed 0's. ORDER_DUMP=DIR keeps
each partition as DIR/seedN.json; ORDER_KEEP=1 keeps each run's folder (feeds.toml, database) for `explain`.

usage: benches/dedup_order.py BIN SET PORT N
e.g.   benches/dedup_order.py target/release/wiredesk ../shared/dedup-unknown 8793 3
"""
import json, os, random, re, shutil, subprocess, sys, tempfile, time
binp, set_dir, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
m = json.load(open(os.path.join(set_dir, "manifest.json")))
wires = {s["id"] for s in m["sources"] if s["kind"] == "wire"}
parts = []
for seed in range(n):
    rng = random.Random(seed)
    w = tempfile.mkdtemp(prefix="order.")
    fd = os.path.join(w, "feeds"); os.mkdir(fd)
    names = sorted(f[:-4] for f in os.listdir(os.path.join(set_dir, "feeds")))
    for nm in names:
        x = open(os.path.join(set_dir, "feeds", nm + ".xml"), encoding="utf-8").read()
        tag = "entry" if "<entry>" in x else "item"
        pat = re.compile(r"\s*<%s>.*?</%s>" % (tag, tag), re.S)
        items = pat.findall(x)
        first = x.find(items[0]); last = x.find(items[-1]) + len(items[-1])
        rng.shuffle(items)
        open(os.path.join(fd, nm + ".xml"), "w", encoding="utf-8").write(x[:first] + "".join(items) + x[last:])
    rng.shuffle(names)
    srv = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=fd,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.7)
    t = f'[server]\nlisten = "127.0.0.1:9"\nbase_url = "http://127.0.0.1:9"\n[storage]\npath = "{w}/db.sqlite"\nretention_days = 0\n[defaults]\nschedule = "0 0 1 1 *"\n[[sections]]\nid = "all"\ntitle = "All"\n'
    for nm in names:
        t += f'[[sources]]\nname = "{nm}"\nurl = "http://127.0.0.1:{port}/{nm}.xml"\nsections = ["all"]\npriority = {10 if nm in wires else 0}\n'
    t += '[fetch]\nglobal = 1\nallow_networks = ["127.0.0.1/32"]\n'
    open(os.path.join(w, "feeds.toml"), "w").write(t)
    subprocess.run([binp, "poll", "--once", "--config", f"{w}/feeds.toml"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = subprocess.run([binp, "stories", "--json", "--config", f"{w}/feeds.toml"], capture_output=True, text=True).stdout
    srv.terminate(); srv.wait()
    part = set()
    for line in out.splitlines():
        s = json.loads(line)
        part.add(frozenset(mm["guid"] for mm in s["members"]))
    parts.append(part)
    if os.environ.get("ORDER_DUMP"):
        json.dump([sorted(x) for x in part], open(os.path.join(os.environ["ORDER_DUMP"], f"seed{seed}.json"), "w"))
    if os.environ.get("ORDER_KEEP"):
        print("kept", w)
    else:
        shutil.rmtree(w)
    print(f"seed {seed}: {len(part)} stories", flush=True)
base = parts[0]
for i, p in enumerate(parts[1:], 1):
    d = base ^ p
    print(f"seed {i} vs 0: {len(base - p)} stories only in 0, {len(p - base)} only in {i}")
