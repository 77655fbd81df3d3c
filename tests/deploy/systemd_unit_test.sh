#!/usr/bin/env bash
# Checks deploy/systemd/hephyd.service, alone and with its drop-in
# hardening-kaniko.conf, and the backup's hephyd-backup.service and .timer,
# with `systemd-analyze verify` (offline: it needs no running systemd). verify exits 0 even for unknown keys and bad values, so
# any line it prints is a failure; a copy with a misspelt key shows that it
# would notice.
#
#   systemd_unit_test.sh SOURCE_DIR HEPHYD
#
# Exit 77 (skipped) without systemd-analyze.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 SOURCE_DIR HEPHYD" >&2
  exit 2
fi
source_dir=$1 hephyd=$2
if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze is not installed"
  exit 77
fi
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

unit_dir=$(mktemp -d)
trap 'rm -rf "$unit_dir"' EXIT
# verify wants ExecStart's program to exist: this build's hephyd.
sed "s|^ExecStart=/usr/local/bin/hephyd |ExecStart=$hephyd |" \
  "$source_dir/deploy/systemd/hephyd.service" >"$unit_dir/hephyd.service"
grep -q "^ExecStart=$hephyd " "$unit_dir/hephyd.service" ||
  fail "hephyd.service has no ExecStart=/usr/local/bin/hephyd ..."

verify() {
  SYSTEMD_UNIT_PATH="$unit_dir:" systemd-analyze verify --man=no hephyd.service 2>&1
}

output=$(verify) || fail "systemd-analyze verify hephyd.service failed: $output"
[ -z "$output" ] || fail "systemd-analyze verify hephyd.service: $output"

# ExecReload: SIGHUP rereads http.tls_cert and http.tls_key (systemctl reload).
for setting in User=hephy StateDirectory=hephy ProtectSystem=strict ProtectHome=yes \
  PrivateTmp=yes "ExecReload=/bin/kill -HUP \$MAINPID"; do
  grep -qx "$setting" "$unit_dir/hephyd.service" || fail "hephyd.service lacks $setting"
done

mkdir "$unit_dir/hephyd.service.d"
cp "$source_dir/deploy/systemd/hardening-kaniko.conf" "$unit_dir/hephyd.service.d/"
output=$(verify) || fail "systemd-analyze verify with hardening-kaniko.conf failed: $output"
[ -z "$output" ] || fail "systemd-analyze verify with hardening-kaniko.conf: $output"

# The backup's unit and its timer, run as hephyd's user on its state.
sed "s|^ExecStart=/usr/local/bin/hephyd |ExecStart=$hephyd |" \
  "$source_dir/deploy/systemd/hephyd-backup.service" >"$unit_dir/hephyd-backup.service"
grep -q "^ExecStart=$hephyd --config /etc/hephy/hephy.yaml backup --into " \
  "$unit_dir/hephyd-backup.service" ||
  fail "hephyd-backup.service has no ExecStart=/usr/local/bin/hephyd --config /etc/hephy/hephy.yaml backup --into ..."
cp "$source_dir/deploy/systemd/hephyd-backup.timer" "$unit_dir/"
for setting in User=hephy "StateDirectory=hephy hephy-backups" Type=oneshot PrivateNetwork=yes; do
  grep -qx "$setting" "$unit_dir/hephyd-backup.service" || fail "hephyd-backup.service lacks $setting"
done
output=$(SYSTEMD_UNIT_PATH="$unit_dir:" systemd-analyze verify --man=no hephyd-backup.service \
  hephyd-backup.timer 2>&1) || fail "systemd-analyze verify hephyd-backup.{service,timer} failed: $output"
[ -z "$output" ] || fail "systemd-analyze verify hephyd-backup.{service,timer}: $output"

echo "ProtectHomes=yes" >>"$unit_dir/hephyd.service.d/hardening-kaniko.conf"
output=$(verify) || true
[[ $output == *"Unknown key"*"ProtectHomes"* ]] ||
  fail "systemd-analyze verify did not report a misspelt key, so it checks nothing: $output"
echo "ok: hephyd.service, hardening-kaniko.conf and hephyd-backup.{service,timer} verify cleanly"
