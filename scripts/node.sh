#!/usr/bin/env bash
# `npm run serve | token | admin | test:unit | bench…`: run node with the given arguments under
# a Node.js that runs this project's TypeScript (>= 22.18, package.json "engines"): the
# machine's when it is new enough, else the one `npm start` / `npm run setup` put in the cache
# (installed from the npm registry the first time, as they do). Anything else is left as is.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Quiet when the machine's node will do (the command's own output is what the person wants).
_PARLEY_NODE_REPORTED=1
ensure_node
# PARLEY_CACHE is for the scripts only (the server rejects unknown PARLEY_* variables).
unset PARLEY_CACHE
exec node "$@"
