# Collector image, built from the published npm package. Its only input is the mounted configuration.
#   docker build -f deploy/docker/collector.Dockerfile --build-arg VERSION=0.1.0 -t energyrecorder/collector:0.1.0 deploy
FROM node:20-bookworm-slim
ARG VERSION=0.1.0
# ipmitool is only needed for devices with `driver: ipmitool`; the default IPMI driver is native.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates ipmitool \
 && npm install -g --omit=dev --no-audit --no-fund "@energyrecorder/collector@${VERSION}" \
 && rm -rf /var/lib/apt/lists/* /root/.npm
RUN useradd --system --uid 10001 --home-dir /var/lib/energyrecorder --create-home energyrecorder \
 && mkdir -p /etc/energyrecorder /var/log/energyrecorder /var/lib/energyrecorder/spool \
 && chown energyrecorder /var/log/energyrecorder /var/lib/energyrecorder/spool
USER energyrecorder
WORKDIR /var/lib/energyrecorder
# Keep COLLECTOR.spool_dir on a volume (/var/lib/energyrecorder/spool) so queued readings survive a restart.
VOLUME ["/var/lib/energyrecorder/spool"]
EXPOSE 9464
ENTRYPOINT ["energyrecorder-collector", "--config", "/etc/energyrecorder/collector-settings.yaml"]
