# Recording API image, built from this repository's sources (nothing is downloaded when the container starts).
# Build from the repository root (the context is the whole checkout; api-server.Dockerfile.dockerignore beside
# this file keeps node_modules, dist and .git out of it):
#   docker build -f deploy/docker/api-server.Dockerfile --build-arg VERSION=0.1.0 -t energyrecorder/api-server:0.1.0 .
# Once the packages are published to npm, the build stage can go and the runtime stage can run
# `npm install -g "@energyrecorder/api-server@${VERSION}"` instead of installing the packed tarballs.

# Build stage: install the workspace, build the packages this image needs, pack them as npm would publish them.
FROM node:20-bookworm AS build
# VERSION, when given, must be the version of the checked-out sources (the image tag should not lie).
ARG VERSION=
ENV TURBO_TELEMETRY_DISABLED=1
WORKDIR /src
COPY package.json package-lock.json turbo.json tsconfig.base.json ./
COPY packages/ packages/
COPY examples/ examples/
RUN v="$(node -p 'require("./packages/api-server/package.json").version')" \
 && { [ -z "$VERSION" ] || [ "$VERSION" = "$v" ] || { echo "VERSION=$VERSION but the sources are $v" >&2; exit 1; }; }
RUN npm ci --no-audit --no-fund
RUN npx turbo run build --filter=@energyrecorder/api-server...
RUN mkdir /pkgs && npm pack -w packages/core -w packages/api-server --pack-destination /pkgs

# Runtime stage: the packed tarballs installed globally, dependencies first, in one npm command (the API's
# dependency on @energyrecorder/core is satisfied by the tarball next to it, not looked up on the registry).
FROM node:20-bookworm-slim
COPY --from=build /pkgs/ /tmp/pkgs/
# better-sqlite3 ships prebuilt binaries for linux-x64/arm64 glibc; the toolchain is only a fallback for
# other platforms and is removed in the same layer.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && npm install -g --omit=dev --no-audit --no-fund /tmp/pkgs/energyrecorder-core-*.tgz /tmp/pkgs/energyrecorder-api-server-*.tgz \
 && apt-get purge -y python3 make g++ && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* /root/.npm /tmp/pkgs
RUN useradd --system --uid 10001 --home-dir /var/lib/energyrecorder --create-home energyrecorder \
 && mkdir -p /etc/energyrecorder /var/log/energyrecorder /var/lib/energyrecorder/influx-queue \
 && chown energyrecorder /var/log/energyrecorder /var/lib/energyrecorder/influx-queue
USER energyrecorder
WORKDIR /var/lib/energyrecorder
# The InfluxDB write queue (INFLUX.queue, on by default; INFLUX.queue_dir, default ./influx-queue, i.e. this
# path): readings acknowledged and not yet in InfluxDB. A volume, so that it outlives the container: give each
# container its own named volume here (`-v influx-queue-api-1:/var/lib/energyrecorder/influx-queue`; an empty
# named volume takes this directory's owner), never one volume to two containers.
VOLUME ["/var/lib/energyrecorder/influx-queue"]
EXPOSE 8888
# Config at /etc/energyrecorder/webapp-settings.yaml (mount it read-only); SIGTERM drains in-flight requests.
ENTRYPOINT ["energyrecorder-api", "--config", "/etc/energyrecorder/webapp-settings.yaml"]
HEALTHCHECK --interval=30s --timeout=5s CMD ["node", "-e", "fetch('http://127.0.0.1:8888/resources/monitoring/ping').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
