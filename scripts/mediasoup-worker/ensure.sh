#!/usr/bin/env bash
# Make sure the mediasoup-worker binary of the installed mediasoup package exists and
# runs on this machine, at mediasoup's default path
# <pkg>/worker/out/Release/mediasoup-worker (so no MEDIASOUP_WORKER_BIN is needed).
# Dependencies are installed with `npm ci --ignore-scripts`, so mediasoup's own
# postinstall (prebuilt download, else a meson build that needs GitHub) never runs;
# this script replaces it. In order:
#   a. the binary is already there and runs                      -> done
#   b. a binary built by build.sh is in the cache                -> restored (seconds)
#   c. MEDIASOUP_WORKER_BIN is set                               -> the user's binary, done
#   d. mediasoup's prebuilt binary from GitHub releases (15 s timeout, needs internet)
#   e. build.sh: build from the npm tarball's sources against Debian packages
#      (installs its apt dependencies as root; ~4 minutes on 2 cores), then cached.
#
# Usage: ensure.sh [path/to/node_modules/mediasoup]   (default: <repo>/node_modules/mediasoup)
# Env:   PARLEY_CACHE  cache root (default ~/.cache/parley); workers go to mediasoup-worker/,
#                      meson for the build to build-tools/.
#        MEDIASOUP_WORKER_BIN, MEDIASOUP_SKIP_WORKER_PREBUILT_DOWNLOAD,
#        MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL: as in mediasoup's own postinstall.
# Needs: node (any version >= 18) on PATH.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/../lib.sh
source "$HERE/../lib.sh"

PKG="${1:-$PARLEY_ROOT/node_modules/mediasoup}"
[ -f "$PKG/package.json" ] || die "no mediasoup package at $PKG (run npm ci first)"
PKG="$(cd "$PKG" && pwd)"
command -v node >/dev/null 2>&1 || die "ensure.sh needs node on PATH"
VERSION="$(node -p "require('$PKG/package.json').version")"
OUT="$PKG/worker/out/Release"
BIN="$OUT/mediasoup-worker"
BUILD_SH="$HERE/build.sh"
CACHE="$PARLEY_CACHE_DIR/mediasoup-worker"
export MS_TOOLS_DIR="${MS_TOOLS_DIR:-$PARLEY_CACHE_DIR/build-tools}"

# Exit status of a worker binary started without MEDIASOUP_VERSION: 41 means it
# loaded and ran (mediasoup's own check); 127 means missing shared libraries.
worker_status() {
	[ -x "$1" ] || { echo none; return 0; }
	local rc=0
	env -i "$1" >/dev/null 2>&1 </dev/null || rc=$?
	echo "$rc"
}

# The Debian packages build.sh builds against (also the worker's runtime libraries),
# read from build.sh itself so that the list lives in one place.
build_apt_pkgs() { sed -n 's/^APT_PKGS="\(.*\)"$/\1/p' "$BUILD_SH"; }

# A binary that fails to load its libraries (127) after a cache restore: it was built
# on a machine with the Debian libraries installed. Install them and check again.
fix_missing_libs() {
	local pkgs
	pkgs="$(build_apt_pkgs)"
	[ -n "$pkgs" ] || return 1
	log "mediasoup-worker cannot load its shared libraries; installing build.sh's Debian packages"
	# shellcheck disable=SC2086 # a list of package names
	ensure_apt $pkgs
	[ "$(worker_status "$BIN")" = 41 ]
}

# ------------------------------------------------------------ a. already there
status="$(worker_status "$BIN")"
if [ "$status" = 41 ]; then
	exit 0
fi
if [ "$status" != none ]; then
	log "existing $BIN does not run here (exit status $status); replacing it"
	rm -f "$BIN"
fi

# ------------------------------------------------------------ b. cache (build.sh's MS_WORKER_CACHE)
# build.sh keys its cache by mediasoup version + the first 12 hex digits of its own
# sha256. This only checks for a hit; build.sh itself does the restoring. Should the
# key format ever change, this check just misses and step e still hits in build.sh.
cache_entry="$CACHE/mediasoup-worker-$VERSION-$(sha256sum "$BUILD_SH" | cut -c1-12)"
if [ -x "$cache_entry" ]; then
	MS_WORKER_CACHE="$CACHE" bash "$BUILD_SH" "$PKG"
	status="$(worker_status "$BIN")"
	if [ "$status" = 127 ] && fix_missing_libs; then status=41; fi
	if [ "$status" = 41 ]; then
		log "mediasoup-worker $VERSION restored from cache ($cache_entry)"
		exit 0
	fi
	# A bad entry (e.g. truncated by an interrupted copy) would be restored again on every run.
	log "cached mediasoup-worker does not run here (exit status $status); removing the cache entry"
	rm -f "$BIN" "$cache_entry"
fi

# ------------------------------------------------------------ c. user-provided binary
if [ -n "${MEDIASOUP_WORKER_BIN:-}" ]; then
	if [ "$(worker_status "$MEDIASOUP_WORKER_BIN")" = 41 ]; then
		log "MEDIASOUP_WORKER_BIN=$MEDIASOUP_WORKER_BIN is set: using it, nothing to do"
	else
		log "WARNING: MEDIASOUP_WORKER_BIN=$MEDIASOUP_WORKER_BIN is set but that binary does not run here; leaving it to you"
	fi
	exit 0
fi

# ------------------------------------------------------------ d. mediasoup's prebuilt binary
# Same URL as getWorkerPrebuildTarName()/downloadPrebuiltWorker() in mediasoup's npm-scripts.mjs.
try_prebuilt() {
	local tmp url
	tmp="$(mktemp -d)"
	# shellcheck disable=SC2016 # JavaScript, not shell
	url="$(PKG="$PKG" node -e '
		const os = require("node:os");
		const pkg = require(process.env.PKG + "/package.json");
		const base = process.env.MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL ||
			`${pkg.repository.url.replace(/^git\+/, "").replace(/\.git$/, "")}/releases/download`;
		let name = `mediasoup-worker-${pkg.version}-${os.platform()}-${os.arch()}`;
		if (os.platform() === "linux") name += `-kernel${Number(os.release().split(".")[0])}`;
		console.log(`${base}/${pkg.version}/${name}.tgz`);
	')"
	local err=""
	# NODE_USE_ENV_PROXY: Node >= 24.5 then honours HTTPS_PROXY/NO_PROXY like curl does.
	# shellcheck disable=SC2016
	err="$(NODE_USE_ENV_PROXY=1 node -e '
		const [url, file] = process.argv.slice(1);
		fetch(url, { signal: AbortSignal.timeout(15000) })
			.then(async (res) => {
				if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
				require("node:fs").writeFileSync(file, Buffer.from(await res.arrayBuffer()));
			})
			.catch((e) => {
				const cause = e.cause ? ` (${e.cause.code || e.cause.message})` : "";
				console.log(`${e.name === "TimeoutError" ? "timed out after 15 s" : e.message}${cause}`);
				process.exitCode = 1;
			});
	' "$url" "$tmp/worker.tgz" 2>&1)" || {
		log "no prebuilt mediasoup-worker: ${err:-download failed} ($url)"
		rm -rf "$tmp"
		return 1
	}
	mkdir -p "$tmp/x"
	if ! tar -xzf "$tmp/worker.tgz" -C "$tmp/x" 2>/dev/null; then
		log "no prebuilt mediasoup-worker: cannot extract $url"
		rm -rf "$tmp"
		return 1
	fi
	local found
	found="$(find "$tmp/x" -type f -name mediasoup-worker | head -n 1)"
	if [ -z "$found" ]; then
		log "no prebuilt mediasoup-worker: no mediasoup-worker file in $url"
		rm -rf "$tmp"
		return 1
	fi
	chmod 0755 "$found"
	status="$(worker_status "$found")"
	if [ "$status" != 41 ]; then
		log "prebuilt mediasoup-worker from $url does not run here (exit status $status)"
		rm -rf "$tmp"
		return 1
	fi
	# (set -e is off in here: try_prebuilt is called as a condition)
	if ! { mkdir -p "$OUT" && mv -f "$found" "$BIN"; }; then
		log "cannot install the prebuilt mediasoup-worker into $OUT"
		rm -rf "$tmp"
		return 1
	fi
	rm -rf "$tmp"
	log "mediasoup-worker $VERSION: using the prebuilt binary from $url"
}

if [ -n "${MEDIASOUP_SKIP_WORKER_PREBUILT_DOWNLOAD:-}" ]; then
	log "MEDIASOUP_SKIP_WORKER_PREBUILT_DOWNLOAD is set: not trying the prebuilt mediasoup-worker"
elif try_prebuilt; then
	exit 0
fi

# ------------------------------------------------------------ e. build from source
log "building mediasoup-worker $VERSION from source against Debian packages" \
	"(3-9 minutes on 2 cores; cached afterwards in $CACHE)"
# Install build.sh's packages here so that a non-root user gets the sudo command to run.
# shellcheck disable=SC2046 # a list of package names
ensure_apt $(build_apt_pkgs)
t0=$SECONDS
MS_WORKER_CACHE="$CACHE" bash "$BUILD_SH" "$PKG" || die "mediasoup-worker build failed (see above)"
status="$(worker_status "$BIN")"
[ "$status" = 41 ] || die "the mediasoup-worker just built does not run (exit status $status)"
log "mediasoup-worker $VERSION built in $((SECONDS - t0))s and cached in $CACHE"
