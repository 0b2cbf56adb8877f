# syntax=docker/dockerfile:1
# The load balancer (default target) and the upstream simulator of the compose `demo` profile (target
# `upstream-sim`). Build from the repository root: docker build -f docker/balancer.Dockerfile .
# One pinned base for every stage: the addon compiled in `build` must match the Node of the runtime stages.
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
 && node apps/balancer/build.mjs \
 && node docker/deploy.mjs balancer /deploy/balancer \
 && node docker/deploy.mjs upstream-sim /deploy/upstream-sim

# The simulated vLLM server and the demo's wiring script (docker/demo-setup.mjs); no native code.
FROM ${NODE_IMAGE} AS upstream-sim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /deploy/upstream-sim /app
USER node
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8000/health',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "main.js"]
CMD ["--host", "0.0.0.0", "--port", "8000"]

# The balancer: its bundle, the native addons it loads (better-sqlite3, @node-rs/xxhash), the editor's static files.
FROM ${NODE_IMAGE} AS balancer
ENV NODE_ENV=production \
    LB_HOST=0.0.0.0 \
    LB_PORT=8090 \
    LB_DB_PATH=/data/load_balancer.db \
    LB_WEB_DIR=/app/web
WORKDIR /app
COPY --from=build /deploy/balancer /app
# The package managers are not needed at run time; /data belongs to the unprivileged user (uid 1000) that the
# named volume inherits on first use.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
           /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* \
 && mkdir -p /data \
 && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 8090
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.LB_PORT||8090)+'/health',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "main.js"]
