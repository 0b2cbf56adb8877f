# syntax=docker/dockerfile:1
# The load producer. Build from the repository root: docker build -f docker/producer.Dockerfile .
# One pinned base for every stage: the addon compiled in `build` must match the Node of the runtime stage.
ARG NODE_IMAGE=node:22.21.1-bookworm-slim

FROM ${NODE_IMAGE} AS build
# better-sqlite3 compiles its addon from source (no prebuilt binary is downloaded), against the image's own
# Node headers in /usr/local/include/node.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
ENV COREPACK_ENABLE_DOWNLOAD_PROMPT=0 \
    npm_config_build_from_source=true \
    npm_config_nodedir=/usr/local \
    npm_config_store_dir=/pnpm/store
WORKDIR /src
# Dependencies first, into the store of this layer from the lockfile alone, so that a source change does not
# download them again; the install after the sources are copied is then offline.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
RUN corepack pnpm fetch
COPY . .
RUN corepack pnpm install --offline --frozen-lockfile \
 && node apps/web/build.mjs \
 && node apps/producer/build.mjs \
 && node docker/deploy.mjs producer /deploy/producer

# The producer: its bundle, the native addon it loads (better-sqlite3) and the producer page's static files.
FROM ${NODE_IMAGE} AS producer
# LP_HOST opens the port to the container network: set LP_TOKEN (see .env.example), or anyone who reaches the
# port can send load to any URL.
ENV NODE_ENV=production \
    LP_HOST=0.0.0.0 \
    LP_PORT=8088 \
    LP_DB_PATH=/data/load_producer.db \
    LP_WEB_DIR=/app/web
WORKDIR /app
COPY --from=build /deploy/producer /app
# The package managers are not needed at run time; /data belongs to the unprivileged user (uid 1000) that the
# named volume inherits on first use.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
           /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* \
 && mkdir -p /data \
 && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 8088
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.LP_PORT||8088)+'/health',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "main.js"]
