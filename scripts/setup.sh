#!/usr/bin/env bash
# Install what Parley needs, idempotently (a second run takes about a second):
#   - Node.js >= 22.18 (Node 24 from the npm registry into ~/.cache/parley/node when
#     the machine's node is older; only for this script's processes, see run.sh/test.sh)
#   - node_modules (npm ci --ignore-scripts, when package-lock.json changed)
#   - mediasoup-worker (existing / cache / prebuilt download / build from source)
# Options:
#   --browser  chromium, ffmpeg and fonts-liberation (Debian packages) for the E2E tests
#   --redis    redis-server and haproxy (Debian packages) for the tests
# As root, missing Debian packages are installed with apt-get; otherwise the script
# prints the sudo command to run. PARLEY_CACHE overrides the cache folder.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parley_setup "$@"
