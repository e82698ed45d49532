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
# The data directory exists in the image, owned by the ledger user, before it is declared a
# volume: a new named volume copies its owner, so the server can write to it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates zlib1g curl tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/ledger --create-home ledger \
 && mkdir -p /var/lib/ledger/data /etc/ledger \
 && chown ledger:ledger /var/lib/ledger/data
COPY --from=builder /usr/local/bin/ledger /usr/local/bin/ledger
USER ledger
WORKDIR /var/lib/ledger
# The image listens on the container's network, so it needs real credentials: mount a config
# file with your own [auth] (deploy/ledger.example.toml) at /etc/ledger/ledger.toml; without
# it the server does not start (it names the missing file), and a file without its own [auth]
# keeps the demo credentials, which the server refuses to serve on a network address.
ENV LEDGER_CONFIG=/etc/ledger/ledger.toml \
    LEDGER_DATA_DIR=/var/lib/ledger/data \
    LEDGER_LISTEN=0.0.0.0:8080 \
    LEDGER_LOG_FORMAT=json \
    LEDGER_TIMEZONE=Asia/Shanghai \
    TZ=Asia/Shanghai
VOLUME ["/var/lib/ledger/data"]
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s \
  CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["ledger"]
CMD ["serve"]
