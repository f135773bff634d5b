# Collector image, built from this repository's sources. Its only input is the mounted configuration.
# Build from the repository root (collector.Dockerfile.dockerignore beside this file trims the context):
#   docker build -f deploy/docker/collector.Dockerfile --build-arg VERSION=0.1.0 -t energyrecorder/collector:0.1.0 .
# Once the packages are published to npm, the build stage can go and the runtime stage can run
# `npm install -g "@energyrecorder/collector@${VERSION}"` instead of installing the packed tarballs.

# Build stage: install the workspace, build the packages this image needs, pack them as npm would publish them.
FROM node:20-bookworm AS build
# VERSION, when given, must be the version of the checked-out sources (the image tag should not lie).
ARG VERSION=
ENV TURBO_TELEMETRY_DISABLED=1
WORKDIR /src
COPY package.json package-lock.json turbo.json tsconfig.base.json ./
COPY packages/ packages/
COPY examples/ examples/
RUN v="$(node -p 'require("./packages/collector/package.json").version')" \
 && { [ -z "$VERSION" ] || [ "$VERSION" = "$v" ] || { echo "VERSION=$VERSION but the sources are $v" >&2; exit 1; }; }
RUN npm ci --no-audit --no-fund
RUN npx turbo run build --filter=@energyrecorder/collector...
RUN mkdir /pkgs && npm pack -w packages/core -w packages/adapters -w packages/collector --pack-destination /pkgs

# Runtime stage: the packed tarballs installed globally, dependencies first, in one npm command (their
# @energyrecorder/* dependencies are satisfied by the tarballs next to them, not looked up on the registry).
FROM node:20-bookworm-slim
COPY --from=build /pkgs/ /tmp/pkgs/
# ipmitool is only needed for devices with `driver: ipmitool`; the default IPMI driver is native.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates ipmitool \
 && npm install -g --omit=dev --no-audit --no-fund /tmp/pkgs/energyrecorder-core-*.tgz \
      /tmp/pkgs/energyrecorder-adapters-*.tgz /tmp/pkgs/energyrecorder-collector-*.tgz \
 && rm -rf /var/lib/apt/lists/* /root/.npm /tmp/pkgs
RUN useradd --system --uid 10001 --home-dir /var/lib/energyrecorder --create-home energyrecorder \
 && mkdir -p /etc/energyrecorder /var/log/energyrecorder /var/lib/energyrecorder/spool \
 && chown energyrecorder /var/log/energyrecorder /var/lib/energyrecorder/spool
USER energyrecorder
WORKDIR /var/lib/energyrecorder
# Keep COLLECTOR.spool_dir on a volume (/var/lib/energyrecorder/spool) so queued readings survive a restart.
VOLUME ["/var/lib/energyrecorder/spool"]
EXPOSE 9464
ENTRYPOINT ["energyrecorder-collector", "--config", "/etc/energyrecorder/collector-settings.yaml"]
