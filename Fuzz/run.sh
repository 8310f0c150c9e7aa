#!/usr/bin/env bash
# Builds the libFuzzer target for LockdHTTP's request decoder and runs it.
#   Fuzz/run.sh                      # 5 minutes, corpus in fuzz-corpus/http
#   Fuzz/run.sh -max_total_time=3600 # any libFuzzer flags
set -euo pipefail
cd "$(dirname "$0")/.."
src=Sources/LockdHTTP
mkdir -p .build/fuzz fuzz-corpus/http
# The decoder and the value types it builds import nothing else, so they
# compile on their own with the fuzzer and address sanitizers.
swiftc -O -g -parse-as-library -swift-version 6 -sanitize=fuzzer,address \
  -module-name LockdHTTPFuzz -o .build/fuzz/http-request-decoder \
  $src/HTTPRequestDecoder.swift $src/HTTPRequestDecoder+Chunked.swift $src/PartialHead.swift \
  $src/HTTPSyntax.swift $src/HTTPHeaders.swift $src/HTTPRequest.swift $src/HTTPMethod.swift \
  $src/HTTPError.swift $src/HTTPStatus.swift $src/HTTPResponse.swift \
  Fuzz/HTTPRequestDecoderFuzz.swift
if [ -z "$(ls -A fuzz-corpus/http)" ]; then
  printf 'GET /locks/a?x=1 HTTP/1.1\r\nHost: x\r\n\r\n' > fuzz-corpus/http/get
  printf 'POST /locks/a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}' > fuzz-corpus/http/post
  printf 'POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: 1\r\n\r\n' > fuzz-corpus/http/chunked
fi
exec .build/fuzz/http-request-decoder -max_total_time=300 -max_len=4096 "$@" fuzz-corpus/http
