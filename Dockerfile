# Multi-stage build of the fengqiao binary. The build stage caches dependencies in a layer of
# their own, so a code change rebuilds only the workspace crates.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY domain/Cargo.toml domain/Cargo.toml
COPY infra/Cargo.toml infra/Cargo.toml
COPY api/Cargo.toml api/Cargo.toml
COPY migrations/Cargo.toml migrations/Cargo.toml
RUN for c in domain infra migrations; do mkdir -p $c/src && echo "" > $c/src/lib.rs; done \
 && mkdir -p api/src api/tests/api && echo "" > api/src/lib.rs && echo "fn main() {}" > api/src/main.rs \
 && echo "fn main() {}" > api/tests/api/main.rs \
 && cargo build --release -p fengqiao-api \
 && rm -rf domain/src infra/src migrations/src api/src
COPY . .
RUN touch domain/src/lib.rs infra/src/lib.rs migrations/src/lib.rs api/src/lib.rs api/src/main.rs \
 && cargo build --release -p fengqiao-api

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/fengqiao --create-home fengqiao
COPY --from=build /src/target/release/fengqiao /usr/local/bin/fengqiao
USER fengqiao
WORKDIR /var/lib/fengqiao
ENV FENGQIAO_SERVER__HOST=0.0.0.0 \
    FENGQIAO_SERVER__PORT=8080 \
    FENGQIAO_DATA_DIR=/var/lib/fengqiao \
    FENGQIAO_LOG__FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD curl -fsS http://127.0.0.1:8080/health/ready || exit 1
ENTRYPOINT ["fengqiao"]
CMD ["serve"]
