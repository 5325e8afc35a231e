# syntax=docker/dockerfile:1
# Pamps in production: `bun src/index.ts` on the official Bun image with production
# node_modules. Not `bun build --compile`: it cannot bundle libSQL's native module.
# Keep BUN_VERSION equal to the `bun` devDependency in package.json.
ARG BUN_VERSION=1.4.5

# ---- production dependencies, exactly as locked in package-lock.json ----
FROM oven/bun:${BUN_VERSION} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN bun install --production --frozen-lockfile --ignore-scripts

# ---- runtime ----
FROM oven/bun:${BUN_VERSION}-slim AS runtime
# ca-certificates: TLS to the Turso primary (libsql://, https://) and to SMTP.
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# RUST_LOG=off: libSQL's native replica code otherwise prints ANSI-coloured tracing lines
# to stdout while the primary is away, between the JSON log lines; the app logs and counts
# those failures itself (503s, pamps_db_query_duration_seconds{outcome="error"}).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATABASE_URL=file:/data/pamps.db \
    RUST_LOG=off
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY migrations ./migrations
COPY src ./src
COPY docker-entrypoint.sh /usr/local/bin/pamps-entrypoint
# /data: the SQLite file or the embedded replica (a volume in production). The app itself
# runs as `bun` (uid 1000): the entrypoint drops root after handing it a fresh volume.
RUN mkdir -p /data && chown bun:bun /data && chmod 0755 /usr/local/bin/pamps-entrypoint
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["bun", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/local/bin/pamps-entrypoint"]
CMD ["bun", "src/index.ts"]
