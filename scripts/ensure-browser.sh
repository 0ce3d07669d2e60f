#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (Playwright cannot download its own browser here) and need CJK fonts to
# render Chinese. Install both when missing.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "ensure-browser: chromium or fonts-noto-cjk missing and no root/sudo to install them" >&2; exit 1
  fi
fi
echo "ensure-browser: installing chromium and fonts-noto-cjk with apt-get"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null
