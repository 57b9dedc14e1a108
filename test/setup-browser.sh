#!/usr/bin/env bash
# Installs Debian's chromium for the browser WebSocket test (test/websocket/clients.test.ts), where apt is
# available and we are root; otherwise says so, and that test is skipped with the same reason.
# Set WIRESPEED_NO_BROWSER=1 to skip the install.
set -uo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then exit 0; fi
if [ "${WIRESPEED_NO_BROWSER:-0}" = 1 ]; then
  echo "# wirespeed: WIRESPEED_NO_BROWSER=1: Chromium not installed, the browser test will be skipped"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "# wirespeed: Chromium is missing and apt-get is not available as root here: the browser test will be skipped"
  exit 0
fi
echo "# wirespeed: installing Debian's chromium for the browser test (apt-get, once)"
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } >/tmp/wirespeed-apt-chromium.log 2>&1; then
  echo "# wirespeed: apt-get could not install chromium (see /tmp/wirespeed-apt-chromium.log): the browser test will be skipped"
fi
exit 0
