# shellcheck shell=bash
# Sourced by the benchmark scripts before they start anything (before
# processes.sh, whose exit trap wants TMP): the tools they need, checked,
# and the release products they run, built.

# require_tools HINT TOOL…: exits, naming the script (by its path under
# benchmarks/) and the first TOOL not on PATH, with HINT (how to install
# them; empty for none) after it.
require_tools() {
    local hint=$1 tool; shift
    for tool; do
        command -v "$tool" >/dev/null || { echo "${0#*benchmarks/}: $tool is missing${hint:+ ($hint)}" >&2; exit 1; }
    done
}

# build_release PRODUCT…: builds each release product, unless SKIP_BUILD is
# set (the binaries already built are used). One product per invocation:
# swift build keeps only the last --product.
build_release() {
    [[ -z ${SKIP_BUILD:-} ]] || return 0
    local product
    for product; do swift build -c release --product "$product"; done
}
