#!/usr/bin/env bash
# Packages the extension once per platform the installed onnxruntime-node ships binaries for
# (node_modules/onnxruntime-node/bin/napi-v*/<os>/<arch>: linux-x64, linux-arm64, darwin-arm64, win32-x64,
# win32-arm64 for 1.30.0), with vsce 4.1.0 on Node 24 (from .tools, see scripts/setup.sh), and verifies every
# package with scripts/e2e/check-vsix.js. Each .vsix carries only its own platform's onnxruntime binaries: vsce
# reads .vscodeignore plus, per target, lines that exclude every other platform's folder (--ignoreFile).
# Needs a build (npm run build). Offline.
#   bash scripts/e2e/package-vsix.sh                      → dist/<name>-<version>-<target>.vsix for every target
#   bash scripts/e2e/package-vsix.sh linux-x64 [target…]  → only those (the UI E2E tests install linux-x64)
#   MAXQ_VSIX_JOBS=N   package at most N targets at once (default: the number of CPUs, at most 3)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/e2e/env.sh
source "$ROOT/scripts/e2e/env.sh"
T0=$(date +%s)

for f in "$NODE24_BIN/node" "$VSCE_JS"; do
  [[ -e "$f" ]] || { echo "package-vsix: $f is missing; run bash scripts/setup.sh" >&2; exit 1; }
done
MAIN="$(node -p "require('./package.json').main")"
[[ -f "$MAIN" || -f "$MAIN.js" ]] || { echo "package-vsix: $MAIN is missing; run npm run build" >&2; exit 1; }

# ---- the targets: one per <os>/<arch> folder of onnxruntime-node's prebuilt binaries
ORT_BIN="node_modules/onnxruntime-node/bin"
declare -A ORT_DIRS=()   # target → space-separated folders (one per napi-v*), relative to the root
for d in "$ORT_BIN"/napi-v*/*/*/; do
  [[ -d "$d" ]] || continue
  d="${d%/}"; arch="${d##*/}"; os="$(basename "$(dirname "$d")")"
  case "$os-$arch" in
    linux-x64 | linux-arm64 | darwin-x64 | darwin-arm64 | win32-x64 | win32-arm64) ;;
    *) echo "package-vsix: warning: $d is not a VS Code target this script knows; not packaged" >&2; continue ;;
  esac
  ORT_DIRS["$os-$arch"]+="${ORT_DIRS["$os-$arch"]:+ }$d"
done
[[ ${#ORT_DIRS[@]} -gt 0 ]] || { echo "package-vsix: no binaries under $ORT_BIN/napi-v*/<os>/<arch>; run npm ci" >&2; exit 1; }
mapfile -t SHIPPED < <(printf '%s\n' "${!ORT_DIRS[@]}" | sort)
if [[ $# -gt 0 ]]; then
  TARGETS=("$@")
  for t in "${TARGETS[@]}"; do
    [[ -n "${ORT_DIRS[$t]:-}" ]] || { echo "package-vsix: onnxruntime-node ships no $t binaries (it ships: ${SHIPPED[*]})" >&2; exit 1; }
  done
else
  TARGETS=("${SHIPPED[@]}")
fi

NAME="$(node -p "require('./package.json').name")"
VERSION="$(node -p "require('./package.json').version")"
mkdir -p "$VSIX_DIR"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/maxq-vsix.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

COMMON=()
# No repository in package.json: allow it, and keep README links as they are (vsce would refuse relative image
# links it cannot rewrite to a repository URL).
if [[ "$(node -p "Boolean(require('./package.json').repository)")" != "true" ]]; then
  COMMON+=(--allow-missing-repository --no-rewrite-relative-links)
fi
ls LICENSE* >/dev/null 2>&1 || COMMON+=(--skip-license)

JOBS="${MAXQ_VSIX_JOBS:-$(nproc 2>/dev/null || echo 1)}"
(( JOBS > 3 )) && [[ -z "${MAXQ_VSIX_JOBS:-}" ]] && JOBS=3
(( JOBS >= 1 )) || JOBS=1
echo "    targets: ${TARGETS[*]}   ($JOBS at a time; vsce on Node $("$NODE24_BIN/node" --version))"

OUTS=()
for t in "${TARGETS[@]}"; do
  out="$VSIX_DIR/$NAME-$VERSION-$t.vsix"
  OUTS+=("$out")
  rm -f "$out"
  ignore="$WORK/$t.vscodeignore"
  { cat .vscodeignore
    echo; echo "# ---- added by scripts/e2e/package-vsix.sh for $t: every other platform's onnxruntime-node binaries"
    for other in "${SHIPPED[@]}"; do
      [[ "$other" == "$t" ]] && continue
      for d in ${ORT_DIRS[$other]}; do echo "$d/**"; done
    done
  } > "$ignore"
  while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n || true; done
  echo "    \$ vsce package --target $t --ignoreFile <.vscodeignore + other targets> --out ${out#"$ROOT"/} ${COMMON[*]}"
  # vsce runs `npm list --production` to find the runtime dependencies; Node 24 first on PATH for both.
  ( s=$(date +%s)
    rc=0
    PATH="$NODE24_BIN:$PATH" ONNXRUNTIME_NODE_INSTALL=skip "$NODE24_BIN/node" "$VSCE_JS" package \
      --target "$t" --ignoreFile "$ignore" --out "$out" "${COMMON[@]}" </dev/null >"$WORK/$t.log" 2>&1 || rc=$?
    echo "$rc $(( $(date +%s) - s ))" > "$WORK/$t.rc"
  ) &
done
wait

FAILED=()
for t in "${TARGETS[@]}"; do
  read -r rc secs < "$WORK/$t.rc" || { rc=1; secs=?; }
  if [[ "$rc" == "0" ]]; then
    echo "    $t: $(grep -m1 -E 'DONE|Packaged' "$WORK/$t.log" | sed -e 's/^ *//') in ${secs}s"
    grep -i 'warning' "$WORK/$t.log" >> "$WORK/warnings" || true
  else
    echo "package-vsix: vsce package --target $t failed (exit $rc); its output:" >&2
    sed -e 's/^/      /' "$WORK/$t.log" >&2
    FAILED+=("$t")
  fi
done
# vsce's warnings (the same for every target but for file counts), once.
[[ -s "$WORK/warnings" ]] && awk '{ k = $0; gsub(/[0-9]+/, "#", k) } !seen[k]++' "$WORK/warnings" | sed -e 's/^ */    vsce: /'
[[ ${#FAILED[@]} -eq 0 ]] || { echo "package-vsix: failed: ${FAILED[*]}" >&2; exit 1; }

node "$ROOT/scripts/e2e/check-vsix.js" "${OUTS[@]}"
echo "    wrote ${#OUTS[@]} package(s) in $(( $(date +%s) - T0 ))s:"
for o in "${OUTS[@]}"; do echo "      ${o#"$ROOT"/}  ($(du -h "$o" | cut -f1))"; done
