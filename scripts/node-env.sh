#!/usr/bin/env bash
# Prints shell exports that select a Node.js supported by jsii and the CDK CLI (22 or newer).
# Uses the machine's node when it is new enough; otherwise installs the pinned one from the npm
# registry's `node` package into tools/node (once) and selects that.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "Node.js and npm are required (any of 20, 22, 24): https://nodejs.org/" >&2
  exit 1
fi

major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -ge 22 ]; then
  node_bin="$(command -v node)"
else
  node_bin="$root/tools/node/node_modules/node/bin/node"
  if [ ! -x "$node_bin" ]; then
    echo "Node.js $(node --version) is past end-of-life for jsii; installing the pinned Node.js into tools/node" >&2
    npm ci --prefix "$root/tools/node" --no-audit --no-fund --loglevel=error >&2
  fi
fi
echo "export PATH=\"$(dirname "$node_bin"):\$PATH\""
echo "export JSII_NODE=\"$node_bin\""
