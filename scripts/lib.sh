# shellcheck shell=bash
# Shared helpers for Parley's scripts. Source it, do not run it:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Callers use `set -euo pipefail`; nothing here changes shell options.
#
# Environment:
#   PARLEY_CACHE   cache folder kept outside the checkout (default ~/.cache/parley):
#                  node/ (Node 24 from npm), mediasoup-worker/ (built workers),
#                  build-tools/ (meson for the worker build). Only the scripts read
#                  it; it is unset before the server starts (the server rejects
#                  unknown PARLEY_* variables).

# Repository root (this file lives in <root>/scripts/).
PARLEY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PARLEY_CACHE_DIR="${PARLEY_CACHE:-${HOME:-/root}/.cache/parley}"
# Oldest Node.js the project supports (package.json "engines": ">=22.18").
PARLEY_NODE_MIN="22.18"
# Major version installed from npm (node-linux-<arch>@<major>) when the machine's node is too old.
PARLEY_NODE_MAJOR="24"

log() { printf '[parley] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# version_ge A B: true when dotted version A >= B (numeric, major.minor.patch).
version_ge() {
	local IFS=.
	local -a a b
	read -r -a a <<<"$1"
	read -r -a b <<<"$2"
	local i
	for i in 0 1 2; do
		local x="${a[i]:-0}" y="${b[i]:-0}"
		if ((10#$x > 10#$y)); then return 0; fi
		if ((10#$x < 10#$y)); then return 1; fi
	done
	return 0
}

# Version of the given node binary (without the "v"), or nothing when it does not run.
node_version_of() { "$1" -p 'process.versions.node' 2>/dev/null || true; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# ensure_apt PKG...: install the Debian packages that are missing. As root this runs
# apt-get (update first, non-interactive); otherwise it stops with the command to run.
ensure_apt() {
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	((${#missing[@]} == 0)) && return 0
	command -v apt-get >/dev/null 2>&1 ||
		die "missing system packages (${missing[*]}) and no apt-get: this script supports Debian/Ubuntu only"
	if ! is_root; then
		log "missing Debian packages: ${missing[*]}"
		log "install them, then run this again:"
		log "    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
		exit 1
	fi
	log "installing Debian packages: ${missing[*]}"
	local t0=$SECONDS
	local -a opts=(-qq -o DPkg::Lock::Timeout=300)
	# Once per setup run (the flag is inherited by ensure.sh); not PARLEY_*: the server
	# rejects unknown PARLEY_ variables.
	if [ -z "${_PARLEY_APT_UPDATED:-}" ]; then
		DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" update >/dev/null ||
			die "apt-get update failed"
		export _PARLEY_APT_UPDATED=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install ${missing[*]} failed"
	log "installed ${missing[*]} in $((SECONDS - t0))s"
}

# Prepend a folder to PATH (once) and point npm's NODE variables at its node.
_use_node_dir() {
	case ":$PATH:" in *":$1:"*) ;; *) PATH="$1:$PATH" ;; esac
	export PATH
	hash -r
	# Set by an outer `npm run` (possibly under an older node); keep them consistent.
	if [ -n "${NODE:-}" ]; then export NODE="$1/node"; fi
	if [ -n "${npm_node_execpath:-}" ]; then export npm_node_execpath="$1/node"; fi
}

# ensure_node: make sure `node` on PATH is >= $PARLEY_NODE_MIN. If it is older (or
# missing), install node-linux-<arch>@$PARLEY_NODE_MAJOR from the npm registry into
# $PARLEY_CACHE_DIR/node (once) and put its bin folder first on PATH. The machine's
# npm (a JS script) then runs under that node.
ensure_node() {
	local current=""
	if command -v node >/dev/null 2>&1; then current="$(node_version_of node)"; fi
	if [ -n "$current" ] && version_ge "$current" "$PARLEY_NODE_MIN"; then
		[ -n "${_PARLEY_NODE_REPORTED:-}" ] || log "node v$current ($(command -v node))"
		_PARLEY_NODE_REPORTED=1
		return 0
	fi

	local arch
	case "$(uname -m)" in
	x86_64 | amd64) arch=x64 ;;
	aarch64 | arm64) arch=arm64 ;;
	armv7l) arch=armv7l ;;
	ppc64le) arch=ppc64le ;;
	s390x) arch=s390x ;;
	*) die "no Node.js package for machine type $(uname -m); install Node.js >= $PARLEY_NODE_MIN yourself" ;;
	esac
	local pkg="node-linux-$arch" dir="$PARLEY_CACHE_DIR/node"
	local bin="$dir/node_modules/$pkg/bin"
	local cached=""
	if [ -x "$bin/node" ]; then cached="$(node_version_of "$bin/node")"; fi
	if [ -n "$cached" ] && version_ge "$cached" "$PARLEY_NODE_MIN"; then
		log "node ${current:+v$current }on PATH is older than $PARLEY_NODE_MIN (or missing): using cached node v$cached ($bin)"
	else
		if [ -z "$current" ]; then
			# No usable node at all: Debian's own (older) nodejs + npm are enough to fetch Node $PARLEY_NODE_MAJOR.
			log "no node on PATH: installing Debian's nodejs and npm, only to download Node $PARLEY_NODE_MAJOR"
			ensure_apt nodejs npm
		fi
		log "node ${current:+v$current }on PATH is older than $PARLEY_NODE_MIN (or missing): installing $pkg@$PARLEY_NODE_MAJOR from npm into $dir"
		local t0=$SECONDS tmp
		mkdir -p "$PARLEY_CACHE_DIR"
		tmp="$(mktemp -d "$PARLEY_CACHE_DIR/node.tmp.XXXXXX")"
		if ! npm install --prefix "$tmp" --no-audit --no-fund --no-save --loglevel=error "$pkg@$PARLEY_NODE_MAJOR" >&2; then
			rm -rf "$tmp"
			die "npm install $pkg@$PARLEY_NODE_MAJOR failed"
		fi
		# Never delete a Node another setup (or a running test) may be using: move the old
		# folder aside (running processes keep their files) and put the new one in its place.
		if [ -e "$dir" ]; then mv -T "$dir" "$(mktemp -u "$dir.old.XXXXXX")" 2>/dev/null || true; fi
		mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp" # lost a race with a parallel setup: keep theirs
		cached="$(node_version_of "$bin/node")"
		[ -n "$cached" ] || die "the downloaded node ($bin/node) does not run on this machine"
		log "installed node v$cached in $((SECONDS - t0))s"
	fi
	_use_node_dir "$bin"
	_PARLEY_NODE_REPORTED=1
	# The npm package only ships `node`; npm itself (a JS script) comes from the machine.
	if ! command -v npm >/dev/null 2>&1; then
		log "no npm on PATH: installing Debian's npm (it runs under node v$cached)"
		ensure_apt npm
	fi
}

# ensure_worker: make sure mediasoup-worker exists and runs (see mediasoup-worker/ensure.sh).
ensure_worker() {
	bash "$PARLEY_ROOT/scripts/mediasoup-worker/ensure.sh" "$PARLEY_ROOT/node_modules/mediasoup"
}

# ensure_deps: `npm ci --ignore-scripts` when node_modules is missing or older than
# package-lock.json, then ensure the mediasoup worker (mediasoup's install script,
# the only one in the lockfile, is replaced by ensure_worker).
ensure_deps() {
	local stamp="$PARLEY_ROOT/node_modules/.package-lock.json"
	if [ ! -f "$stamp" ] || [ "$PARLEY_ROOT/package-lock.json" -nt "$stamp" ]; then
		log "npm ci --ignore-scripts"
		local t0=$SECONDS
		(cd "$PARLEY_ROOT" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2) || die "npm ci failed"
		log "installed node_modules in $((SECONDS - t0))s"
	fi
	ensure_worker
}

# parley_setup [--browser] [--redis] [--promtool]: everything needed to run (and test) Parley.
#   --browser  Debian chromium, ffmpeg (fake camera media; the recorder and its tests) and
#              fonts for the E2E tests;
#              coturn (TURN), nftables (blocking UDP) and openssl (a TLS cert) for the
#              network-path tests
#   --redis    redis-server, and haproxy (the cluster tests put it in front of two nodes)
#   --promtool promtool (Debian package prometheus, ~27 s to install; nothing is started)
#              that validates /metrics in the tests
parley_setup() {
	local browser=0 redis=0 promtool=0 arg
	for arg in "$@"; do
		case "$arg" in
		--browser) browser=1 ;;
		--redis) redis=1 ;;
		--promtool) promtool=1 ;;
		-h | --help)
			echo "usage: setup.sh [--browser] [--redis] [--promtool]  (node >= $PARLEY_NODE_MIN, node_modules, mediasoup-worker;" \
				"--browser: chromium ffmpeg fonts-liberation coturn nftables openssl; --redis: redis-server haproxy; --promtool: prometheus)" >&2
			return 0
			;;
		*) die "setup: unknown option $arg (use --browser, --redis, --promtool)" ;;
		esac
	done
	local t0=$SECONDS apt=()
	if ((browser)); then apt+=(chromium ffmpeg fonts-liberation coturn nftables openssl); fi
	if ((redis)); then apt+=(redis-server haproxy); fi
	if ((promtool)); then apt+=(prometheus); fi
	# Debian packages first, in one apt-get run (a worker build may add its own).
	if ((${#apt[@]})); then ensure_apt "${apt[@]}"; fi
	ensure_node
	ensure_deps
	log "setup done in $((SECONDS - t0))s"
}
