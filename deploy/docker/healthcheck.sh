#!/bin/bash
# Docker HEALTHCHECK for lockd: GET /healthz and succeed on status 200.
#
# The runtime image is debian:bookworm-slim, which has no curl or wget.
# Installing curl would add libcurl and its TLS and HTTP/2 libraries to the
# image only for this probe, so the request goes out through bash's own
# /dev/tcp instead (bash is part of every Debian image). Docker's
# `--timeout` bounds the whole script, the connect included.
#
# The address comes from LOCKD_LISTEN (the image sets 0.0.0.0:7070); a
# wildcard host is probed on loopback. With HTTPS on (LOCKD_TLS_CERT_FILE
# set) bash cannot speak TLS, and lockd answers the plaintext probe with a
# 400 saying the port speaks HTTPS: that answer shows just as well that it is
# alive, so it is what the probe expects then.
set -euo pipefail

listen="${LOCKD_LISTEN:-127.0.0.1:7070}"
port="${listen##*:}"
host="${listen%:*}"
host="${host#[}"
host="${host%]}"
case "$host" in
    "" | 0.0.0.0 | "*") host=127.0.0.1 ;;
    ::) host=::1 ;;
esac

if ! exec 3<>"/dev/tcp/$host/$port"; then
    echo "lockd-healthcheck: cannot connect to $host:$port" >&2
    exit 1
fi
printf 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3

status_line=""
read -r -t 2 status_line <&3 || true
exec 3<&-

expected=200
if [[ -n "${LOCKD_TLS_CERT_FILE:-}" ]]; then
    expected=400
fi
read -r _ status _ <<<"${status_line%$'\r'}" || true
if [[ "${status:-}" != "$expected" ]]; then
    echo "lockd-healthcheck: GET /healthz on $host:$port answered '${status_line%$'\r'}'" >&2
    exit 1
fi
