#!/bin/sh
# Every PDF shenggu writes (court and medical records) embeds a Chinese TrueType font, so its text renders on a
# machine without CJK fonts (shenggu/reports/documents.py says why this font). Install Debian's
# fonts-wqy-zenhei when missing and we may (root); otherwise say what is needed.
set -e
[ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei >/dev/null
else
    echo "shenggu's PDF export needs a Chinese TrueType font (Debian: sudo apt install fonts-wqy-zenhei)" >&2
    exit 1
fi
