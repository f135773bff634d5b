# Recording API image, built from the published npm package (nothing is downloaded when the container starts).
#   docker build -f deploy/docker/api-server.Dockerfile --build-arg VERSION=0.1.0 -t energyrecorder/api-server:0.1.0 deploy
FROM node:20-bookworm-slim
ARG VERSION=0.1.0
# better-sqlite3 ships prebuilt binaries for linux-x64/arm64 glibc; the toolchain is only a fallback for
# other platforms and is removed in the same layer.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && npm install -g --omit=dev --no-audit --no-fund "@energyrecorder/api-server@${VERSION}" \
 && apt-get purge -y python3 make g++ && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* /root/.npm
RUN useradd --system --uid 10001 --home-dir /var/lib/energyrecorder --create-home energyrecorder \
 && mkdir -p /etc/energyrecorder /var/log/energyrecorder \
 && chown energyrecorder /var/log/energyrecorder
USER energyrecorder
WORKDIR /var/lib/energyrecorder
EXPOSE 8888
# Config at /etc/energyrecorder/webapp-settings.yaml (mount it read-only); SIGTERM drains in-flight requests.
ENTRYPOINT ["energyrecorder-api", "--config", "/etc/energyrecorder/webapp-settings.yaml"]
HEALTHCHECK --interval=30s --timeout=5s CMD ["node", "-e", "fetch('http://127.0.0.1:8888/resources/monitoring/ping').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
