#!/bin/sh
# Every PDF shenggu writes (court and medical records) embeds a Chinese TrueType font, so its text renders on a
# machine without CJK fonts (shenggu/reports/documents.py says why this font): Debian's fonts-wqy-zenhei. The
# console and kiosk tests screenshot pages in headless Chromium, which draws Chinese only with a CJK font
# installed (else every label is an empty box): Debian's fonts-noto-cjk. Install them when missing and we may
# (root); otherwise say what is needed.
set -e
missing=""
[ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || missing="$missing fonts-wqy-zenhei"
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || missing="$missing fonts-noto-cjk"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
else
    echo "shenggu needs Chinese fonts for PDFs and the console (Debian: sudo apt install$missing)" >&2
    exit 1
fi
