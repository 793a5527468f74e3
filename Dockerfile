# syntax=docker/dockerfile:1
# The greenkube container image: the `greenkube` binary (web dashboard embedded) on a small,
# non-root runtime image. This project's CI does not build or publish it (its machines have no
# container engine); build it and push it to your registry yourself:
#
#   docker build -t REGISTRY/greenkube:0.1.0 --build-arg VERSION=0.1.0 .
#   docker push REGISTRY/greenkube:0.1.0
#
# then install charts/greenkube with image.repository=REGISTRY/greenkube (README "Installing in a
# cluster"). scripts/test-chart.py checks this file against the README, the test command, the
# chart and the CLI's defaults.

# The version written in the image's labels: the workspace version (Cargo.toml) by default.
ARG VERSION=0.1.0

# Node.js and npm for the dashboard: greenkube-cli's build script runs `npm ci` and Vite (it
# needs Node.js 20.19 or later; Debian bookworm's own nodejs is 18).
FROM node:22-bookworm-slim AS node

FROM rust:1.95-bookworm AS build
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && node --version && npm --version
WORKDIR /src
COPY . .
# As CI does (.ci/run): no incremental compilation caches.
ENV CARGO_INCREMENTAL=0 CARGO_TARGET_DIR=/src/target
# The release build of the test command (scripts/test.sh), with the lockfile as it is.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p greenkube-cli \
    && install -D -m 0755 /src/target/release/greenkube /out/greenkube \
    && /out/greenkube --version \
    && install -d -o 65532 -g 65532 /out/var/lib/greenkube

# glibc, libgcc and CA certificates, no shell; user 65532 ("nonroot").
FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION
LABEL org.opencontainers.image.title="greenkube" \
      org.opencontainers.image.description="Energy, CO2e (operational and embodied) and cost of every Kubernetes workload" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/greenkube/greenkube-rs"
COPY --from=build /out/greenkube /usr/local/bin/greenkube
# Where the SQLite store lives (the chart mounts a volume here), writable by the user.
COPY --from=build --chown=65532:65532 /out/var/lib/greenkube /var/lib/greenkube
WORKDIR /var/lib/greenkube
# Listen on every interface inside the container (greenkube's own default is loopback only),
# and keep the SQLite store on the data directory.
ENV GREENKUBE_LISTEN=0.0.0.0:8000 \
    GREENKUBE_STORE=sqlite:///var/lib/greenkube/greenkube.db
USER 65532:65532
EXPOSE 8000
ENTRYPOINT ["greenkube"]
CMD ["serve", "--collect"]
