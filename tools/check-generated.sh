#!/usr/bin/env bash
# Verifies Sources/TemporalAPI/Generated/ against its GENERATED.stamp, without building anything.
#
#   tools/check-generated.sh [--strict]
#
# 1. Hand edits: every generated file's sha256 must match the stamp, and the folder must hold
#    exactly the files the stamp lists.
# 2. Staleness: if a Python with the pinned temporalio is available ($TEMPORALIO_PYTHON,
#    .build-tools/venv/bin/python, or python3), the .proto inputs staged from that wheel must
#    hash to the stamp's proto-inputs-sha256. Without one this check is skipped with a note;
#    --strict makes that an error.
# Fix a failure by running tools/generate-protos.sh.
set -euo pipefail
export LC_ALL=C

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/Sources/TemporalAPI/Generated"
STAMP="$DEST/GENERATED.stamp"
STRICT=0
[[ "${1:-}" == "--strict" ]] && STRICT=1

fail() { printf 'check-generated: FAILED: %s\nRegenerate with tools/generate-protos.sh (never edit generated files).\n' "$*" >&2; exit 1; }

[[ -f "$STAMP" ]] || fail "missing $STAMP"
stamp_value() { awk -v key="$1" '$1 == key { print $2; exit }' "$STAMP"; }
TEMPORALIO_VERSION="$(stamp_value temporalio)"
INPUTS_SHA="$(stamp_value proto-inputs-sha256)"
[[ -n "$TEMPORALIO_VERSION" && -n "$INPUTS_SHA" ]] || fail "malformed stamp $STAMP"

# --- 1. generated files vs stamp ---------------------------------------------------------------
LISTED="$(sed -n '/^files$/,$p' "$STAMP" | tail -n +2)"
[[ -n "$LISTED" ]] || fail "the stamp lists no files"
if ! (cd "$DEST" && sha256sum --check --quiet --strict <<<"$LISTED") >&2; then
    fail "generated files differ from the stamp (edited by hand, or stamp out of date)"
fi
expected_names="$(awk '{print $2}' <<<"$LISTED" | sort)"
actual_names="$(cd "$DEST" && find . -maxdepth 1 -type f ! -name GENERATED.stamp | sed 's|^\./||' | sort)"
if [[ "$expected_names" != "$actual_names" ]]; then
    fail "files in Generated/ do not match the stamp:
$(diff <(echo "$expected_names") <(echo "$actual_names") | grep '^[<>]' || true)"
fi
echo "check-generated: $(wc -l <<<"$LISTED") generated files match the stamp"

# --- 2. proto inputs vs the pinned wheel --------------------------------------------------------
find_python() {
    local candidate
    for candidate in "${TEMPORALIO_PYTHON:-}" "$ROOT/.build-tools/venv/bin/python" python3; do
        [[ -n "$candidate" ]] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c "import importlib.metadata as m, sys; sys.exit(m.version('temporalio') != '$TEMPORALIO_VERSION')" 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}
if ! PYTHON="$(find_python)"; then
    msg="no python with temporalio==$TEMPORALIO_VERSION found; skipped the proto-input staleness check"
    ((STRICT)) && fail "$msg"
    echo "check-generated: note: $msg" >&2
    exit 0
fi
WHEEL_DIR="$("$PYTHON" -c 'import os, temporalio; print(os.path.dirname(temporalio.__file__))')"
STAGE="$(mktemp -d "${TMPDIR:-/tmp}/check-generated.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT
"$ROOT/tools/stage-protos.sh" "$WHEEL_DIR" "$STAGE"
actual="$("$ROOT/tools/stage-protos.sh" --hash "$STAGE")"
[[ "$actual" == "$INPUTS_SHA" ]] || fail "proto inputs from temporalio $TEMPORALIO_VERSION hash to $actual, the stamp says $INPUTS_SHA"
echo "check-generated: proto inputs match temporalio $TEMPORALIO_VERSION"
