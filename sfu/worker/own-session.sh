#!/bin/sh
# Starts the mediasoup worker in a session (and process group) of its own, so that a
# signal sent to Parley's process group (Ctrl-C in a terminal, `kill -- -PGID`) reaches
# only the Node process, which drains before it closes the workers; the worker itself
# would close at once on SIGINT/SIGTERM. `exec` keeps the PID mediasoup knows (setsid
# does not fork: the worker is not a process group leader). The worker still exits when
# Node does, whatever the signal: its channel to Node closes. Used by sfu/WorkerPool.ts.
exec setsid "$OWN_SESSION_MEDIASOUP_WORKER" "$@"
