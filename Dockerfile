# Wren controller image: docker build -t wren:dev .
# Arguments after the image name are the controller's flags (README.md).
#
# Three stages: production dependencies, the TypeScript build, and a runtime with
# Node, tini, the compiled JavaScript and production dependencies only. It runs
# as uid 65532 and writes nothing outside /tmp, so it works with
# readOnlyRootFilesystem (mount an emptyDir at /tmp to be safe).

# Production dependencies only. --ignore-scripts: none of them has an install
# script, and none may sneak one in.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# src/ -> dist/ (tsc rewrites the .ts imports to .js). --ignore-scripts skips
# the `node` devDependency's download of a second Node; this image has one.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx --no-install tsc -p tsconfig.build.json

FROM node:24-bookworm-slim AS runtime
# tini as PID 1: forwards SIGTERM to node at once (node releases its leader Lease
# on SIGTERM, so a standby takes over without waiting for the Lease to expire)
# and reaps zombies. npm, npx, corepack and yarn are not needed at run time: removed.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/* \
  && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
    /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
    /opt/yarn-v* /usr/local/bin/yarn /usr/local/bin/yarnpkg \
  && groupadd --system --gid 65532 wren \
  && useradd --system --uid 65532 --gid 65532 --home-dir /nonexistent --no-create-home \
    --shell /usr/sbin/nologin wren
WORKDIR /app
ENV NODE_ENV=production \
  NODE_OPTIONS="--max-old-space-size=128 --max-semi-space-size=2"
# Owned by root and not writable by the user the controller runs as.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER 65532:65532
# /healthz, /readyz and /metrics (--metrics-address, default 0.0.0.0:8080).
EXPOSE 8080
ENTRYPOINT ["tini", "--", "node", "dist/main.js"]
