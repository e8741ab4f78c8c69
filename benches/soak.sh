#!/usr/bin/env bash
# Soak: the daemon runs against the feed farm while the farm adds items and injects faults, then every
# fault is checked in `wiredesk sources`. Loopback only; stops by itself.
#   benches/soak.sh [SECONDS]      (default 600)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
work=$(mktemp -d /tmp/wiredesk-soak.XXXXXX)
faults="429=0.01,503=0.01,301=0.01,410=0.01,timeout=0.01,malformed=0.01"
cargo build --release --quiet --workspace
bin=target/release
$bin/feedfarm serve --hosts 20 --feeds 1000 --items 20 --latency-ms 50 --port 8910 --seed 7 \
    --new-items-every-secs 30 --faults "$faults" >"$work/farm.log" 2>&1 &
farm=$!
$bin/feedfarm toml --hosts 20 --feeds 1000 --port 8910 --seed 7 --faults "$faults" \
    --schedule "* * * * *" --db "$work/soak.db" | sed 's/^listen = .*/listen = "127.0.0.1:8911"/' >"$work/feeds.toml"
sed -i 's|^base_url = .*|base_url = "http://127.0.0.1:8911"|' "$work/feeds.toml"
WIREDESK_LOG=warn $bin/wiredesk run --config "$work/feeds.toml" 2>"$work/daemon.log" &
daemon=$!
trap 'kill $daemon $farm 2>/dev/null || true' EXIT
end=$((SECONDS + secs))
: >"$work/samples.txt"
while [ $SECONDS -lt $end ]; do
    sleep 30
    etag=$(curl -sI http://127.0.0.1:8911/feeds/s0.rss | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
    items=$(curl -s http://127.0.0.1:8911/feeds/s0.rss | grep -o '<item>' | wc -l)
    health=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8911/healthz)
    echo "$SECONDS $etag $items $health" >>"$work/samples.txt"
done
curl -s http://127.0.0.1:8911/metrics >"$work/metrics.txt"
kill -TERM $daemon; wait $daemon || true
$bin/wiredesk sources --json --config "$work/feeds.toml" >"$work/sources.jsonl"
python3 benches/soak_check.py "$work"
