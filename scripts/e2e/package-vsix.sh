#!/usr/bin/env bash
# Packages the extension as a linux-x64 .vsix with vsce 4.1.0 on Node 24 (from .tools, see scripts/setup.sh)
# and verifies its contents with scripts/e2e/check-vsix.js. Needs a build (npm run build). Offline.
#   bash scripts/e2e/package-vsix.sh        → dist/<name>-<version>-linux-x64.vsix
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/e2e/env.sh
source "$ROOT/scripts/e2e/env.sh"

for f in "$NODE24_BIN/node" "$VSCE_JS"; do
  [[ -e "$f" ]] || { echo "package-vsix: $f is missing; run bash scripts/setup.sh" >&2; exit 1; }
done
MAIN="$(node -p "require('./package.json').main")"
[[ -f "$MAIN" || -f "$MAIN.js" ]] || { echo "package-vsix: $MAIN is missing; run npm run build" >&2; exit 1; }

NAME="$(node -p "require('./package.json').name")"
VERSION="$(node -p "require('./package.json').version")"
OUT="$VSIX_DIR/$NAME-$VERSION-linux-x64.vsix"
mkdir -p "$VSIX_DIR"
rm -f "$OUT"

FLAGS=(--target linux-x64 --out "$OUT")
# No repository in package.json: allow it, and keep README links as they are (vsce would refuse relative image
# links it cannot rewrite to a repository URL).
if [[ "$(node -p "Boolean(require('./package.json').repository)")" != "true" ]]; then
  FLAGS+=(--allow-missing-repository --no-rewrite-relative-links)
fi
ls LICENSE* >/dev/null 2>&1 || FLAGS+=(--skip-license)

echo "    \$ vsce package ${FLAGS[*]}   (Node $("$NODE24_BIN/node" --version))"
# vsce runs `npm list --production` to find the runtime dependencies; Node 24 first on PATH for both.
PATH="$NODE24_BIN:$PATH" ONNXRUNTIME_NODE_INSTALL=skip "$NODE24_BIN/node" "$VSCE_JS" package "${FLAGS[@]}" </dev/null
node "$ROOT/scripts/e2e/check-vsix.js" "$OUT"
echo "    wrote ${OUT#"$ROOT"/}"
