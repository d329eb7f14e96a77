#!/bin/sh
# The console's and the kiosk's end-to-end tests (tests/test_console*.py, tests/test_assistant.py) drive a
# headless Chromium through chromedriver, with a WAV file as the microphone. Install Debian's chromium and
# chromium-driver when missing and we may (root); otherwise say what is needed.
set -e
command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
else
    echo "shenggu's console and kiosk tests need Chromium and chromedriver (Debian: sudo apt install chromium chromium-driver)" >&2
    exit 1
fi
