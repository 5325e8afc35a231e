#!/bin/sh
# Starts the container's command as the unprivileged user `bun` (uid 1000).
# A Fly volume mounts root-owned and empty, so when the container starts as root this
# hands the data directory to that user first, then drops root for good. Started as a
# non-root user already (docker run --user …), it just runs the command.
set -eu
APP_USER="${APP_USER:-bun}"
DATA_DIR="${DATA_DIR:-/data}"
if [ "$(id -u)" = "0" ]; then
  uid="$(id -u "$APP_USER")"
  gid="$(id -g "$APP_USER")"
  if [ -d "$DATA_DIR" ] && [ "$(stat -c %u "$DATA_DIR")" != "$uid" ]; then
    chown "$uid:$gid" "$DATA_DIR"
  fi
  HOME="$(getent passwd "$APP_USER" | cut -d: -f6)"
  export HOME
  exec setpriv --reuid="$uid" --regid="$gid" --init-groups -- "$@"
fi
exec "$@"
