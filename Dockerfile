# The ledger binary. Build from the repository root:  docker build -t ledger .
# Stage 1 compiles (librdkafka is built from source by rdkafka-sys: it needs a C toolchain,
# make, perl and zlib headers); stage 2 is a slim runtime with only what the binary links.
FROM rust:1-bookworm AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p ledger \
 && cp target/release/ledger /usr/local/bin/ledger

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates zlib1g curl tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/ledger --create-home ledger
COPY --from=builder /usr/local/bin/ledger /usr/local/bin/ledger
USER ledger
WORKDIR /var/lib/ledger
# The image listens on the container's network: with the demo credentials it starts only
# because LEDGER_DEMO says so; give a config file (LEDGER_CONFIG) with your own [auth] and set
# LEDGER_DEMO=false for anything but a demo.
ENV LEDGER_DATA_DIR=/var/lib/ledger/data \
    LEDGER_LISTEN=0.0.0.0:8080 \
    LEDGER_LOG_FORMAT=json \
    LEDGER_DEMO=true \
    LEDGER_TIMEZONE=Asia/Shanghai \
    TZ=Asia/Shanghai
VOLUME ["/var/lib/ledger/data"]
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s \
  CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["ledger"]
CMD ["serve"]
