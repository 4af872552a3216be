#!/bin/sh
# tests/render_svg.sh - render an SVG to PNG with headless Chromium and check
# it is well-formed XML (xmllint, when installed).  Not part of `make test`:
# a fresh machine has no browser.  Debian: apt-get install chromium libxml2-utils
#
#   sh tests/render_svg.sh picture.svg [out.png] [width height]
#
# The window size defaults to the width and height written in the SVG.
set -e
svg=$1
png=${2:-${svg%.svg}.png}
[ -n "$svg" ] && [ -f "$svg" ] || { echo "usage: $0 FILE.svg [OUT.png] [W H]" >&2; exit 2; }
if command -v xmllint > /dev/null 2>&1; then
    xmllint --noout "$svg"
    echo "xmllint: well-formed"
else
    echo "xmllint not found: XML not checked" >&2
fi
w=${3:-$(sed -n 's/.*<svg[^>]* width="\([0-9.]*\)".*/\1/p' "$svg" | head -n 1 | cut -d. -f1)}
h=${4:-$(sed -n 's/.*<svg[^>]* height="\([0-9.]*\)".*/\1/p' "$svg" | head -n 1 | cut -d. -f1)}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "no chromium found" >&2; exit 1; }
abs=$(cd "$(dirname "$svg")" && pwd)/$(basename "$svg")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$browser" --headless --disable-gpu --no-sandbox --hide-scrollbars --user-data-dir="$tmp" \
    --screenshot="$png" --window-size="${w:-960},${h:-540}" "file://$abs" > "$tmp/log" 2>&1 ||
    { cat "$tmp/log" >&2; exit 1; }
[ -s "$png" ] || { cat "$tmp/log" >&2; exit 1; }
echo "wrote $png (${w}x${h})"
