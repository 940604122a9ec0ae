# syntax=docker/dockerfile:1
#
# Parley: one container with the signaling server, the mediasoup workers and the
# built web client.
#
#   docker build -t parley .
#   docker run -d --name parley --network host \
#     -e PARLEY_AUTH_JWT_SECRETS="$(openssl rand -hex 32)" \
#     -e PARLEY_MEDIA_ANNOUNCED_ADDRESS=<public IP of this host> \
#     -v parley-data:/app/data \
#     parley
#
# WebRTC media goes straight to the mediasoup workers: worker i listens on UDP and TCP
# port PARLEY_MEDIA_BASE_PORT + i (40000-40001 with the 2 workers set below), and
# PARLEY_MEDIA_ANNOUNCED_ADDRESS is the address browsers send media to. `--network host`
# is the simplest; with Docker's port mapping instead publish every media port on both
# protocols, 1:1 (the announced port must be the real one):
#   docker run -p 3000:3000 -p 40000-40001:40000-40001/udp -p 40000-40001:40000-40001/tcp \
#     -e PARLEY_AUTH_JWT_SECRETS=... -e PARLEY_MEDIA_ANNOUNCED_ADDRESS=<public ip> parley
# More workers: -e PARLEY_MEDIA_WORKERS=N and publish N ports. Put HTTPS in front of port
# 3000 (browsers only allow camera/microphone on https:// or localhost) and set
# PARLEY_HTTP_PUBLIC_URL=https://your.host. Chat messages and files live in /app/data
# (or set PARLEY_REDIS_URL=redis://... for several instances).
#
# Needs BuildKit (the default builder since Docker 23) for the cache mounts.

ARG NODE_IMAGE=node:24-bookworm-slim

# ---------------------------------------------------------------------------- build
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV CI=true

# Dependencies and the mediasoup worker, in their own layer (rebuilt only when the
# lockfile or the worker scripts change). mediasoup's install script is replaced by
# ensure.sh: it downloads mediasoup's prebuilt worker from GitHub when it can, else
# builds it from the npm tarball's sources against Debian packages (about 4 minutes
# on 2 cores; kept in the build cache mount afterwards).
COPY package.json package-lock.json ./
COPY scripts/lib.sh scripts/lib.sh
COPY scripts/mediasoup-worker/ scripts/mediasoup-worker/
RUN --mount=type=cache,target=/root/.npm \
    --mount=type=cache,target=/root/.cache/parley \
    npm ci --ignore-scripts --no-audit --no-fund \
 && bash scripts/mediasoup-worker/ensure.sh node_modules/mediasoup

# The Debian packages the worker's shared libraries come from (libuv1, libssl3, ... for a
# worker built here; only libc/libstdc++ for mediasoup's prebuilt one), for the runtime stage.
RUN set -eu; \
    bin=node_modules/mediasoup/worker/out/Release/mediasoup-worker; \
    : > /tmp/worker-debs; \
    for lib in $(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'); do \
      pkg="$(dpkg-query -S "*/$(basename "$lib")" 2>/dev/null | head -n 1 | cut -d: -f1)" || true; \
      if [ -n "$pkg" ]; then echo "$pkg" >> /tmp/worker-debs; fi; \
    done; \
    sort -u /tmp/worker-debs > /app/worker-runtime-debs.txt; \
    echo "worker runtime packages: $(tr '\n' ' ' < /app/worker-runtime-debs.txt)"

# The web client, then drop the dev dependencies (vite, react, mediasoup-client, ...
# are only needed for the client build; the server runs its .ts files with Node's
# type stripping and needs only the production dependencies).
COPY . .
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---------------------------------------------------------------------------- runtime
FROM ${NODE_IMAGE} AS runtime
ARG DEBIAN_FRONTEND=noninteractive

# ffmpeg writes the recordings (one process per recorded track, no re-encoding).
COPY --from=build /app/worker-runtime-debs.txt /tmp/worker-runtime-debs.txt
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg \
 && xargs -r -a /tmp/worker-runtime-debs.txt apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /tmp/worker-runtime-debs.txt \
 && groupadd --system parley \
 && useradd --system --gid parley --home-dir /app --no-create-home --shell /usr/sbin/nologin parley

WORKDIR /app
ENV NODE_ENV=production \
    PARLEY_HTTP_PORT=3000 \
    PARLEY_MEDIA_BASE_PORT=40000 \
    PARLEY_MEDIA_WORKERS=2 \
    PARLEY_DATA_DIR=/app/data

# Code and dependencies stay owned by root (read-only for the server); only the data
# folder is writable by the `parley` user.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/config ./config
COPY --from=build /app/sfu ./sfu
COPY --from=build /app/signaling ./signaling
COPY --from=build /app/client/dist ./client/dist
# `npm run admin | token | serve` go through scripts/node.sh (the image's node is new enough).
COPY --from=build /app/scripts/lib.sh /app/scripts/node.sh ./scripts/
RUN mkdir -p /app/data && chown parley:parley /app/data
VOLUME ["/app/data"]

USER parley
# HTTP (web client, API, Socket.IO) and the media ports of the 2 workers.
EXPOSE 3000/tcp 40000-40001/udp 40000-40001/tcp

# /healthz answers 200 while the process is alive (/readyz: whether it takes new meetings). (Asks 127.0.0.1:$PARLEY_HTTP_PORT:
# adjust it if you bind PARLEY_HTTP_HOST to another address or set the port in a PARLEY_CONFIG file.)
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PARLEY_HTTP_PORT || 3000) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

CMD ["node", "signaling/main.ts"]
