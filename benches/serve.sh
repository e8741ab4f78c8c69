#!/usr/bin/env bash
# Serving benchmark: the same section feed from wiredesk's own server and from nginx serving wiredesk's static
# export, measured with wrk. 1,000 farm feeds are polled once (`poll --once --out`), then `wiredesk run` serves
# the database and nginx serves the exported folder. Each server gets full GETs and conditional GETs (304).
#   benches/serve.sh [SECONDS] [CONNECTIONS]       needs wrk and nginx (apt-get install -y wrk nginx)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
for tool in wrk nginx; do
    command -v "$tool" >/dev/null || { echo "benches/serve.sh needs $tool: apt-get install -y $tool" >&2; exit 2; }
done
work=$(mktemp -d /tmp/wiredesk-serve.XXXXXX)
cargo build --release --quiet --workspace
bin=$PWD/target/release
"$bin/feedfarm" serve --hosts 10 --feeds 1000 --items 20 --latency-ms 0 --port 8900 >"$work/farm.log" 2>&1 &
pids=($!)
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
sleep 1
# A schedule that never comes due during the run, so the daemon only serves.
"$bin/feedfarm" toml --hosts 10 --feeds 1000 --port 8900 --db "$work/bench.db" |
    sed -e 's|^listen = .*|listen = "127.0.0.1:8931"|' -e 's|^base_url = .*|base_url = "http://127.0.0.1:8931"|' \
        -e 's|^schedule = .*|schedule = "0 0 1 1 *"|' >"$work/feeds.toml"
"$bin/wiredesk" poll --once --config "$work/feeds.toml" --out "$work/public" >"$work/poll.out"
"$bin/wiredesk" run --config "$work/feeds.toml" 2>"$work/daemon.log" &
pids+=($!)
mkdir -p "$work/nginx"
# nginx workers run as an unprivileged user when the script runs as root.
chmod -R a+rX "$work"
cat >"$work/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body; proxy_temp_path $work/nginx/proxy; fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi; scgi_temp_path $work/nginx/scgi;
  types { application/rss+xml rss; application/atom+xml atom; application/feed+json json; text/html html; }
  server { listen 127.0.0.1:8932; root $work/public; etag on; }
}
EOF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
pids+=($!)
for port in 8931 8932; do
    for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$port/feeds/s0.rss" && break; sleep 0.2; done
done
bytes=$(curl -fsS "http://127.0.0.1:8931/feeds/s0.rss" | wc -c)
echo "Section feed /feeds/s0.rss: $bytes bytes; wrk -t2 -c$conns -d${secs}s; $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
echo
echo "| server | request | requests/s | latency p50 | latency p99 | transfer/s |"
echo "|---|---|---:|---:|---:|---:|"
for server in wiredesk:8931 nginx:8932; do
    name=${server%%:*}; port=${server##*:}
    url="http://127.0.0.1:$port/feeds/s0.rss"
    etag=$(curl -fsSI "$url" | awk -F': ' 'tolower($1)=="etag" {print $2}' | tr -d '\r')
    for kind in full conditional; do
        header=(); [ "$kind" = conditional ] && header=(-H "If-None-Match: $etag")
        wrk -t2 -c"$conns" -d"${secs}s" --latency "${header[@]}" "$url" >"$work/wrk-$name-$kind.txt"
        awk -v s="$name" -v k="$kind" '
            /Requests\/sec/ { rps = $2 } /Transfer\/sec/ { tps = $2 }
            $1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 }
            END { printf "| %s | %s | %s | %s | %s | %s |\n", s, k, rps, p50, p99, tps }' "$work/wrk-$name-$kind.txt"
    done
done
