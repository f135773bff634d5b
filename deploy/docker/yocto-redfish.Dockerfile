# USB watt meters served as Redfish, built from the published npm package.
#   docker build -f deploy/docker/yocto-redfish.Dockerfile --build-arg VERSION=0.1.0 -t energyrecorder/yocto-redfish:0.1.0 deploy
# Run with the meter passed through, e.g. --device /dev/bus/usb/001/004 (or a udev-tagged path).
FROM node:20-bookworm-slim
ARG VERSION=0.1.0
# libusb for the `usb` package (YOKOGAWA USBTMC, Yoctopuce HID); the toolchain only builds it where no
# prebuilt binary exists and is removed in the same layer.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libusb-1.0-0 ca-certificates python3 make g++ libusb-1.0-0-dev libudev-dev \
 && npm install -g --omit=dev --no-audit --no-fund "@energyrecorder/yocto-redfish@${VERSION}" \
 && apt-get purge -y python3 make g++ libusb-1.0-0-dev libudev-dev && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/* /root/.npm
RUN useradd --system --uid 10001 --home-dir /var/lib/yocto-redfish --create-home yocto-redfish \
 && mkdir -p /etc/yocto-redfish
USER yocto-redfish
EXPOSE 8889
ENTRYPOINT ["yocto-redfish", "--config", "/etc/yocto-redfish/webapp-settings.yaml"]
