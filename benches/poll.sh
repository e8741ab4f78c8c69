#!/usr/bin/env bash
# Polling benchmark: 10,000 feeds on 100 loopback hosts with 50 ms of latency and 20 items each.
# Runs `wiredesk poll --once` twice (a first cycle that stores everything, then an unchanged cycle answered
# with 304s) and prints wall time, CPU seconds and peak RSS of each as a markdown table.
#   benches/poll.sh [FEEDS] [HOSTS]          DEDUP=exact benches/poll.sh: without the similarity layer
set -euo pipefail
cd "$(dirname "$0")/.."
feeds=${1:-10000}
hosts=${2:-100}
work=$(mktemp -d /tmp/wiredesk-bench.XXXXXX)
cargo build --release --quiet --workspace
bin=$PWD/target/release
"$bin/feedfarm" serve --hosts "$hosts" --feeds "$feeds" --items 20 --latency-ms 50 --port 8900 >"$work/farm.log" 2>&1 &
farm=$!
trap 'kill $farm 2>/dev/null || true' EXIT
sleep 1
"$bin/feedfarm" toml --hosts "$hosts" --feeds "$feeds" --port 8900 --db "$work/bench.db" >"$work/feeds.toml"
if [ "${DEDUP:-}" = exact ]; then printf '\n[dedup]\nnear_duplicates = false\n' >>"$work/feeds.toml"; fi
global=$(awk -F' *= *' '/^global/{print $2}' "$work/feeds.toml"); global=${global:-64}
echo "| cycle | feeds | wall s | feeds/s | CPU s (user+sys) | peak RSS MB |"
echo "|---|---:|---:|---:|---:|---:|"
for cycle in first unchanged; do
    /usr/bin/time -f "%e %U %S %M" -o "$work/time.txt" "$bin/wiredesk" poll --once --config "$work/feeds.toml" >"$work/$cycle.out"
    read -r wall user sys rss <"$work/time.txt"
    awk -v c="$cycle" -v f="$feeds" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" \
        'BEGIN { printf "| %s | %d | %.2f | %.0f | %.2f | %.0f |\n", c, f, w, f / w, u + s, r / 1024 }'
done
echo
echo "Ceiling from the limits: $global in flight / 50 ms = $((global * 20)) feeds/s."
cat "$work/first.out" "$work/unchanged.out"
