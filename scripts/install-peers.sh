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
for attempt in 1 2 3; do
  if "${apt[@]}" update -qq && "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}"; then
    exit 0
  fi
  echo "install-peers: apt-get failed (attempt $attempt of 3)" >&2
  sleep $((attempt * 15))
done
exit 1
