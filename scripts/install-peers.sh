#!/usr/bin/env bash
# Installs the Debian programs the integration tests start as real peers, without starting their system
# services (Debian starts influxd, mosquitto and snmpd on install otherwise).
set -euo pipefail
pkgs=(influxdb mosquitto mosquitto-clients openipmi ipmitool snmpd snmp libopenipmi-dev gcc make chromium openssl)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-peers: all test peers present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-peers: installing ${missing[*]}"
made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  made_policy=1
fi
cleanup() { [ "$made_policy" -eq 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d; return 0; }
trap cleanup EXIT
# `env` inside sudo: sudo's env_reset would drop a DEBIAN_FRONTEND set in front of it. Retries and a lock wait ride
# out a mirror blip or an unattended upgrade holding the dpkg lock.
apt=($SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=5 -o DPkg::Lock::Timeout=300)
# Debian has a `chromium` package. Ubuntu has none: its `chromium-browser` deb only installs the snap, which does
# not run in containers. Where apt has no candidate for `chromium`, the other peers are installed and the browser
# is left to the user (said at the end).
no_chromium=0
in_missing() { local m; for m in "${missing[@]}"; do [ "$m" = "$1" ] && return 0; done; return 1; }
has_candidate() {
  local c
  c="$(apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')"
  [ -n "$c" ] && [ "$c" != "(none)" ]
}
chromium_note() {
  [ "$no_chromium" -eq 1 ] || return 0
  if [ -x /usr/bin/chromium ]; then
    echo "install-peers: no chromium package here; the browser tests will use /usr/bin/chromium, which is present" >&2
    return 0
  fi
  cat >&2 <<'NOTE'
install-peers: NOTE: apt has no `chromium` package here (Ubuntu ships Chromium only as a snap, which does not run
  in containers), so every other peer was installed and the browser was not. The dashboard browser tests
  (packages/api-server/test/dashboard/dashboard-browser.int.test.ts and dashboard-collector.int.test.ts) and the
  dashboard bench launch /usr/bin/chromium: a fixed path, no environment variable chooses another. Put a real
  Chromium or Chrome binary there, e.g. Playwright's build:
    npx playwright-core install --with-deps chromium     # from the repository root; prints where it went
    sudo ln -s ~/.cache/ms-playwright/chromium-*/chrome-linux*/chrome /usr/bin/chromium
  or Google Chrome's .deb: sudo ln -s /usr/bin/google-chrome-stable /usr/bin/chromium
  Without it those tests skip with "PEER MISSING: chromium" (and fail under CI=true).
NOTE
}
for attempt in 1 2 3; do
  if "${apt[@]}" update -qq; then
    if [ "$no_chromium" -eq 0 ] && in_missing chromium && ! has_candidate chromium; then
      no_chromium=1
      rest=()
      for m in "${missing[@]}"; do [ "$m" = chromium ] || rest+=("$m"); done
      missing=("${rest[@]+"${rest[@]}"}")
      echo "install-peers: no installation candidate for chromium; installing the others: ${missing[*]:-(none)}"
    fi
    if [ ${#missing[@]} -eq 0 ] || "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}"; then
      chromium_note
      exit 0
    fi
  fi
  echo "install-peers: apt-get failed (attempt $attempt of 3)" >&2
  sleep $((attempt * 15))
done
exit 1
