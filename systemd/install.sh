#!/usr/bin/env bash
# Installs wiredesk as a systemd service, as root:
#   the binary (cargo install --path . --root /usr/local, or one you built: WIREDESK_BIN=path),
#   the unit in /etc/systemd/system, a sample config in /etc/wiredesk/feeds.toml (kept if one is there)
#   with its database in /var/lib/wiredesk; then checks the config, and enables and starts the service
#   when systemd runs. DESTDIR=dir installs into a staging root instead and starts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
root="${DESTDIR:-}"
bin="$root/usr/local/bin/wiredesk"

if [ -n "${WIREDESK_BIN:-}" ]; then
    install -D -m 755 "$WIREDESK_BIN" "$bin"
else
    cargo install --locked --path . --root "$root/usr/local"
fi
install -D -m 644 systemd/wiredesk.service "$root/etc/systemd/system/wiredesk.service"
install -d -m 755 "$root/etc/wiredesk"
if [ ! -e "$root/etc/wiredesk/feeds.toml" ]; then
    # The shipped feeds.toml, with the database where the unit's StateDirectory puts it.
    sed 's#^path = "wiredesk.db".*#path = "/var/lib/wiredesk/wiredesk.db"      \# the unit'"'"'s StateDirectory#' \
        feeds.toml > "$root/etc/wiredesk/feeds.toml"
    chmod 644 "$root/etc/wiredesk/feeds.toml"
    echo "wrote a sample config: $root/etc/wiredesk/feeds.toml (edit its sections and sources)"
else
    echo "kept the config that is there: $root/etc/wiredesk/feeds.toml"
fi
install -d -m 755 "$root/var/lib"

if [ -n "$root" ]; then
    echo "staged under $root; nothing started"
    exit 0
fi
if [ -d /run/systemd/system ]; then
    systemd-analyze verify /etc/systemd/system/wiredesk.service
    systemctl daemon-reload
    systemctl enable --now wiredesk
    systemctl --no-pager status wiredesk || true
    echo "logs: journalctl -u wiredesk -f; config: /etc/wiredesk/feeds.toml, then systemctl reload wiredesk"
else
    echo "systemd is not running here: start it by hand with"
    echo "  /usr/local/bin/wiredesk run --config /etc/wiredesk/feeds.toml"
fi
