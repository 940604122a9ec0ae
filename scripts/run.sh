#!/usr/bin/env bash
# `npm start`: set up (see setup.sh), build the client when its sources changed, then
# run the server (dev mode unless PARLEY_DEV is set). The server prints its URL.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PARLEY_ROOT"

# shellcheck disable=SC2119 # run.sh takes no setup options
parley_setup

# Rebuild client/dist when it is missing or older than anything it is built from.
stamp="client/dist/index.html"
newer=""
if [ -f "$stamp" ]; then
	newer="$(find client signaling/protocol package-lock.json -path client/dist -prune -o -type f -newer "$stamp" -print -quit)"
fi
if [ ! -f "$stamp" ] || [ -n "$newer" ]; then
	log "building the client${newer:+ ($newer changed)}"
	t0=$SECONDS
	npx vite build --config client/vite.config.ts
	log "client built in $((SECONDS - t0))s"
fi

export PARLEY_DEV="${PARLEY_DEV:-true}"
# PARLEY_CACHE is for the scripts only.
unset PARLEY_CACHE
exec node signaling/main.ts
