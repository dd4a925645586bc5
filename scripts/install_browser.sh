#!/usr/bin/env bash
# Install the browser the end-to-end tests drive: Debian's Chromium (Playwright's own download does not
# work offline), an emoji font (without it ✅/❎ render as empty boxes in screenshots) and a CJK font (Chinese
# and Japanese text in screenshots of the Chinese sample).
# Idempotent: does nothing when /usr/bin/chromium exists. Never fails the build: without root or apt it
# says so and exits 0, and the browser tests skip with a clear reason.
set -u

if [ -x /usr/bin/chromium ] && dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 && dpkg -s fonts-noto-cjk >/dev/null 2>&1; then
    echo "install_browser: /usr/bin/chromium present ($(/usr/bin/chromium --version 2>/dev/null | head -n1))"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser: apt-get not available; skipping (browser tests will be skipped)"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "install_browser: not root and no passwordless sudo; skipping (browser tests will be skipped)."
        echo "  To enable them: sudo apt-get install -y chromium fonts-noto-color-emoji fonts-noto-cjk"
        exit 0
    fi
fi
echo "install_browser: installing chromium, fonts-noto-color-emoji and fonts-noto-cjk with apt-get"
export DEBIAN_FRONTEND=noninteractive
if $SUDO apt-get update -q && $SUDO apt-get install -y -q chromium fonts-noto-color-emoji fonts-noto-cjk; then
    echo "install_browser: done ($(/usr/bin/chromium --version 2>/dev/null | head -n1))"
else
    echo "install_browser: apt-get failed; skipping (browser tests will be skipped)"
fi
exit 0
