# syntax=docker/dockerfile:1
#
# milvus-upgrade-bot: the Slack bot and/or the upgrade worker (ROLES=bot,worker).
#
#   docker build -t milvus-upgrade-bot .
#   docker run --rm -e ROLES=worker -e REDIS_URL=redis://... -v ~/.kube/config:/kube/config:ro \
#     -e KUBECONFIG=/kube/config milvus-upgrade-bot
#
# Three stages: `build` compiles TypeScript, `tools` downloads helm and kubectl (verified against
# pinned SHA-256 sums), the runtime stage holds only production dependencies, dist/ and the two
# binaries, and runs as a non-root user. Bump a tool: change its version AND both checksums
# (https://get.helm.sh/helm-vX.Y.Z-linux-ARCH.tar.gz.sha256sum,
#  https://dl.k8s.io/release/vX.Y.Z/bin/linux/ARCH/kubectl.sha256).

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: full dependencies, tsc -> dist/ ----------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the postinstall only extracts helm/kubectl for tests; not needed to compile.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build-dist.mjs ./scripts/
COPY src ./src
RUN npm run build

# ---- deps: production dependencies only ---------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

# ---- tools: helm and kubectl, pinned and checked -------------------------------------------------
FROM debian:bookworm-slim AS tools
# Set by BuildKit (docker buildx --platform ...); the classic builder leaves it empty: amd64.
ARG TARGETARCH
ARG HELM_VERSION=3.17.2
ARG HELM_SHA256_AMD64=90c28792a1eb5fb0b50028e39ebf826531ebfcf73f599050dbd79bab2f277241
ARG HELM_SHA256_ARM64=d78d76ec7625a94991e887ac049d93f44bd70e4876200b945f813c9e1ed1df7c
ARG KUBECTL_VERSION=1.32.3
ARG KUBECTL_SHA256_AMD64=ab209d0c5134b61486a0486585604a616a5bb2fc07df46d304b3c95817b2d79f
ARG KUBECTL_SHA256_ARM64=6c2c91e760efbf3fa111a5f0b99ba8975fb1c58bb3974eca88b6134bcf3717e2
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /tools
RUN set -eu; \
    arch="${TARGETARCH:-amd64}"; \
    case "${arch}" in \
      amd64) helm_sha="${HELM_SHA256_AMD64}"; kubectl_sha="${KUBECTL_SHA256_AMD64}" ;; \
      arm64) helm_sha="${HELM_SHA256_ARM64}"; kubectl_sha="${KUBECTL_SHA256_ARM64}" ;; \
      *) echo "unsupported architecture: ${arch}" >&2; exit 1 ;; \
    esac; \
    helm_tgz="helm-v${HELM_VERSION}-linux-${arch}.tar.gz"; \
    curl -fsSLO "https://get.helm.sh/${helm_tgz}"; \
    echo "${helm_sha}  ${helm_tgz}" | sha256sum -c -; \
    tar -xzf "${helm_tgz}" --strip-components=1 "linux-${arch}/helm"; \
    curl -fsSLO "https://dl.k8s.io/release/v${KUBECTL_VERSION}/bin/linux/${arch}/kubectl"; \
    echo "${kubectl_sha}  kubectl" | sha256sum -c -; \
    chmod 0755 helm kubectl; \
    ./helm version --short; \
    ./kubectl version --client=true

# ---- runtime --------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
# node:20-bookworm-slim has no CA bundle: without it helm cannot reach an https chart repository
# (x509: certificate signed by unknown authority), and zilliztech's is https.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    HELM_BIN=/usr/local/bin/helm \
    PORT=3000
COPY --from=tools /tools/helm /tools/kubectl /usr/local/bin/
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# "type": "module": Node loads dist/*.js as ES modules.
COPY package.json ./
# The CLI (node bin/milvus-upgrade.js ...) runs dist/cli.js, for operators inside the pod.
COPY bin ./bin
# The image's `node` user, by number so Kubernetes can check runAsNonRoot.
USER 1000:1000
EXPOSE 3000
# /healthz answers on PORT in every role (bot HTTP receiver, or the health server of Socket Mode
# and worker-only processes). Node's fetch: no curl needed in this image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# A young generation of 2 x 4 MB instead of V8's 2 x 16 MB: the process waits on helm and the API
# server, and the larger one only held garbage (worker peak RSS 176 -> 153 MB with 20 upgrades at
# concurrency 5, same total time; bench/RESULTS.md, scale, runs the worker with these flags).
CMD ["node", "--max-semi-space-size=4", "dist/main.js"]
