# lockd container image.
#
#   docker build -t lockd .
#   docker run --rm -p 7070:7070 -e LOCKD_REDIS_URL=redis://redis-host:6379 lockd
#
# Two stages: the official Swift image builds lockd with the README's build
# command; a slim Debian image carries only the binary and the few shared
# libraries a binary built with --static-swift-stdlib still loads.
# deploy/check.sh (run by CI) fails if the `RUN swift build` line below stops
# being the README's build command.

# Both images by exact version, so a rebuild of the same commit gets the same
# toolchain and base; raise them deliberately.
ARG SWIFT_IMAGE=swift:6.3.1-bookworm
ARG RUNTIME_IMAGE=debian:12.11-slim

# ---------------------------------------------------------------- build stage
FROM ${SWIFT_IMAGE} AS build

# The product brief's system packages: OpenSSL for rediss:// and https://, zlib
# for gzip responses. No libcurl: lockd (server and client subcommands alike)
# speaks HTTP on its own sockets and never links URLSession (FoundationNetworking).
# Versions are not pinned: the build takes Debian's current security fixes.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libssl-dev \
        zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build

# Resolve dependencies in their own layer, so that editing a source file does
# not download every package again.
COPY Package.swift ./
RUN swift package resolve

COPY . .
RUN swift build -c release --product lockd --static-swift-stdlib

# Everything the runtime image needs, laid out as it will be installed:
# - the binary (the OpenAPI spec is embedded in it: no resource bundle);
# - Swift's static crash backtracer, which a binary with a static standard
#   library cannot find on its own (SWIFT_BACKTRACE below points at it);
# - the health check script.
RUN install -D -m 0755 .build/release/lockd /staging/usr/local/bin/lockd \
    && install -D -m 0755 /usr/libexec/swift/linux/swift-backtrace-static \
        /staging/usr/local/libexec/lockd/swift-backtrace-static \
    && install -D -m 0755 deploy/docker/healthcheck.sh /staging/usr/local/bin/lockd-healthcheck

# -------------------------------------------------------------- runtime stage
FROM ${RUNTIME_IMAGE}

LABEL org.opencontainers.image.title="lockd" \
      org.opencontainers.image.description="A lock service that speaks HTTP, with leases and fencing tokens in Redis"

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# With the Swift standard library, Foundation and Dispatch linked in
# statically, the binary still loads only glibc (libc, libm), libstdc++,
# libgcc_s, OpenSSL and zlib — `ldd` on it lists these. libssl3 and
# ca-certificates serve rediss:// (TLS to Redis), HTTPS and the client
# subcommands' https://; zlib1g (libz.so.1, gzip responses) is the runtime half
# of the build stage's zlib1g-dev. No curl binary: the health check speaks HTTP
# through bash (see deploy/docker/healthcheck.sh).
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates \
        libgcc-s1 \
        libssl3 \
        libstdc++6 \
        zlib1g \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 lockd \
    && useradd --system --uid 10001 --gid lockd --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin lockd

COPY --from=build /staging/ /

# Fail the build here, not at the first start, if a shared library is missing
# or the binary cannot run on this base image.
RUN ! ldd /usr/local/bin/lockd | grep 'not found' \
    && lockd --help > /dev/null

# A numeric user, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001

# Inside a container lockd must listen on every interface, not loopback.
# Set the address through LOCKD_LISTEN rather than --listen: the health check
# reads the port from it.
ENV LOCKD_LISTEN=0.0.0.0:7070
# Crash reports go to stderr with paths sanitized; the backtracer is the
# static one staged above.
ENV SWIFT_BACKTRACE=enable=yes,sanitize=yes,threads=all,images=all,interactive=no,swift-backtrace=/usr/local/libexec/lockd/swift-backtrace-static

# A per-thread malloc cache of 64 freed blocks per size instead of glibc's 7:
# a loop thread's requests in flight then recycle their blocks there instead
# of sorting them into the arena's bins, where the work grows with the holes
# long-lived allocations (idle event streams, idle connections) leave. See
# deploy/README.md ("Allocator setting") for what it was measured to do.
ENV GLIBC_TUNABLES=glibc.malloc.tcache_count=64

EXPOSE 7070

# Liveness only (/healthz): a lockd whose Redis is down is alive and answers
# 503 by itself; load balancers should route on /readyz instead.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/lockd-healthcheck"]

# lockd handles SIGTERM itself (drains, then exits 0) and starts no child
# processes to reap, so it runs as PID 1 without an init.
STOPSIGNAL SIGTERM
ENTRYPOINT ["lockd"]
