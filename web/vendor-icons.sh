#!/bin/sh
# Copies the few Lucide icons the page shows (one per upload kind, and the drop zone's) from
# node_modules/lucide-static into vendor/icons/, named by what they stand for, with the
# stroke in the page's accent colour (an <img> cannot inherit `currentColor`).
# Run by `npm run vendor` after `npm ci`; the result is committed.
set -eu
src=node_modules/lucide-static/icons
dst=vendor/icons
mkdir -p "$dst"
for pair in image:image video:film audio:audio-lines 3d:box model:brain-circuit text:file-text \
    avatar:user-round asset:file upload:upload; do
    name="${pair%%:*}"
    icon="${pair#*:}"
    sed 's/currentColor/#1f5fbf/' "$src/$icon.svg" > "$dst/$name.svg"
done
cp node_modules/lucide-static/LICENSE "$dst/LICENSE"
