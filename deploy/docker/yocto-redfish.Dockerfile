# USB watt meters served as Redfish, built from this repository's sources.
# Build from the repository root (yocto-redfish.Dockerfile.dockerignore beside this file trims the context):
#   docker build -f deploy/docker/yocto-redfish.Dockerfile --build-arg VERSION=0.1.0 -t energyrecorder/yocto-redfish:0.1.0 .
# Run with the meter passed through, e.g. --device /dev/bus/usb/001/004 (or a udev-tagged path), and -p 8889:8889.
# Once the packages are published to npm, the build stage can go and the runtime stage can run
# `npm install -g "@energyrecorder/yocto-redfish@${VERSION}"` instead of installing the packed tarballs.

# Build stage: install the workspace, build the packages this image needs, pack them as npm would publish them.
FROM node:20-bookworm AS build
# VERSION, when given, must be the version of the checked-out sources (the image tag should not lie).
ARG VERSION=
ENV TURBO_TELEMETRY_DISABLED=1
WORKDIR /src
COPY package.json package-lock.json turbo.json tsconfig.base.json ./
COPY packages/ packages/
COPY examples/ examples/
RUN v="$(node -p 'require("./packages/yocto-redfish/package.json").version')" \
 && { [ -z "$VERSION" ] || [ "$VERSION" = "$v" ] || { echo "VERSION=$VERSION but the sources are $v" >&2; exit 1; }; }
RUN npm ci --no-audit --no-fund
RUN npx turbo run build --filter=@energyrecorder/yocto-redfish...
RUN mkdir /pkgs && npm pack -w packages/core -w packages/yocto-redfish --pack-destination /pkgs

# Runtime stage: the packed tarballs installed globally, dependencies first, in one npm command (the
# dependency on @energyrecorder/core is satisfied by the tarball next to it, not looked up on the registry).
FROM node:20-bookworm-slim
COPY --from=build /pkgs/ /tmp/pkgs/
# libusb for the `usb` package (YOKOGAWA USBTMC, Yoctopuce HID); the toolchain only builds it where no
# prebuilt binary exists and is removed in the same layer.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libusb-1.0-0 ca-certificates python3 make g++ libusb-1.0-0-dev libudev-dev \
 && npm install -g --omit=dev --no-audit --no-fund /tmp/pkgs/energyrecorder-core-*.tgz /tmp/pkgs/energyrecorder-yocto-redfish-*.tgz \
 && apt-get purge -y python3 make g++ libusb-1.0-0-dev libudev-dev && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/* /root/.npm /tmp/pkgs
RUN useradd --system --uid 10001 --home-dir /var/lib/yocto-redfish --create-home yocto-redfish \
 && mkdir -p /etc/yocto-redfish
USER yocto-redfish
EXPOSE 8889
# `--host 0.0.0.0`: inside the container, listen on every interface so the published port reaches it (the
# settings' default BIND is 127.0.0.1:8889, which only the container itself could reach). The port still
# comes from BIND. Arguments given to `docker run` come after these and win (e.g. `--host 127.0.0.1`).
ENTRYPOINT ["yocto-redfish", "--host", "0.0.0.0", "--config", "/etc/yocto-redfish/webapp-settings.yaml"]
