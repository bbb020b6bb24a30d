#!/usr/bin/env bash
# Regenerates Sources/TemporalAPI/Generated/ from the Temporal API definitions that ship inside
# the pinned `temporalio` PyPI wheel.
#
#   tools/generate-protos.sh
#
# Needs: python3 with venv and pip (PyPI reachable), protoc and the well-known types
# (Debian: protobuf-compiler, libprotobuf-dev), swift. Everything it builds or downloads lives
# under .build-tools/ (gitignored). The output is deterministic: running it twice gives
# byte-identical files. tools/check-generated.sh verifies the result against GENERATED.stamp.
set -euo pipefail

# --- pins (change here, then rerun) -------------------------------------------------------------
TEMPORALIO_VERSION=1.35.0
SWIFT_PROTOBUF_VERSION=1.39.0
GRPC_SWIFT_PROTOBUF_VERSION=2.4.1

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$ROOT/.build-tools"
VENV="$TOOLS_DIR/venv"
PLUGIN_PKG="$TOOLS_DIR/protoc-plugins"
STAGE="$TOOLS_DIR/proto-root"
OUT_TMP="$TOOLS_DIR/generated-tmp"
DEST="$ROOT/Sources/TemporalAPI/Generated"
WKT_DIR="${WKT_DIR:-/usr/include/google/protobuf}"
export LC_ALL=C

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

command -v protoc >/dev/null || die "protoc not found (apt-get install protobuf-compiler)"
[[ -f "$WKT_DIR/field_mask.proto" ]] || die "well-known types not found in $WKT_DIR (apt-get install libprotobuf-dev)"
command -v swift >/dev/null || die "swift not found"

mkdir -p "$TOOLS_DIR"

# --- 1. the pinned wheel ------------------------------------------------------------------------
if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating venv in $VENV"
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('temporalio') != '$TEMPORALIO_VERSION')" 2>/dev/null; then
    log "installing temporalio==$TEMPORALIO_VERSION"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "temporalio==$TEMPORALIO_VERSION"
fi
WHEEL_DIR="$("$VENV/bin/python" -c 'import os, temporalio; print(os.path.dirname(temporalio.__file__))')"

# --- 2. stage the inputs into one clean proto root ----------------------------------------------
log "staging .proto inputs"
"$ROOT/tools/stage-protos.sh" "$WHEEL_DIR" "$STAGE"
cp "$WKT_DIR"/{any,descriptor,duration,empty,field_mask,struct,timestamp,wrappers}.proto "$STAGE/google/protobuf/"
INPUTS_SHA="$("$ROOT/tools/stage-protos.sh" --hash "$STAGE")"

# --- 3. the protoc plugins, built once per pinned version ---------------------------------------
mkdir -p "$PLUGIN_PKG"
cat > "$PLUGIN_PKG/Package.swift.new" <<EOF
// swift-tools-version:6.1
// Throwaway package: only builds the protoc plugins used by tools/generate-protos.sh.
import PackageDescription

let package = Package(
    name: "ProtocPlugins",
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf", exact: "$SWIFT_PROTOBUF_VERSION"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "$GRPC_SWIFT_PROTOBUF_VERSION"),
    ],
    targets: []
)
EOF
if ! cmp -s "$PLUGIN_PKG/Package.swift.new" "$PLUGIN_PKG/Package.swift"; then
    mv "$PLUGIN_PKG/Package.swift.new" "$PLUGIN_PKG/Package.swift"
    rm -rf "$PLUGIN_PKG/.build/release/protoc-gen-swift" "$PLUGIN_PKG/.build/release/protoc-gen-grpc-swift-2"
else
    rm "$PLUGIN_PKG/Package.swift.new"
fi
for product in protoc-gen-swift protoc-gen-grpc-swift-2; do
    if [[ ! -x "$PLUGIN_PKG/.build/release/$product" ]]; then
        log "building $product (release; takes a few minutes once)"
        swift build --package-path "$PLUGIN_PKG" -c release --product "$product" >&2
    fi
done
BIN="$PLUGIN_PKG/.build/release"

# --- 4. protoc ----------------------------------------------------------------------------------
log "running protoc"
rm -rf "$OUT_TMP"
mkdir -p "$OUT_TMP"
mapfile -t PROTOS < <(cd "$STAGE" && find . -name '*.proto' ! -path './google/protobuf/*' | sed 's|^\./||' | sort)
(
    cd "$STAGE"
    protoc -I . \
        --plugin=protoc-gen-swift="$BIN/protoc-gen-swift" \
        --plugin=protoc-gen-grpc-swift-2="$BIN/protoc-gen-grpc-swift-2" \
        --swift_out="$OUT_TMP" \
        --swift_opt=Visibility=Public,FileNaming=PathToUnderscores \
        --grpc-swift-2_out="$OUT_TMP" \
        --grpc-swift-2_opt=Visibility=Public,Server=true,Client=true,FileNaming=PathToUnderscores \
        "${PROTOS[@]}"
)

# Drop the stubs for files that declare nothing (no messages, enums, extensions or services).
for f in "$OUT_TMP"/*.swift; do
    if ! grep -Eq '^(public|internal|fileprivate|extension|struct|enum|let|var|func) ' "$f"; then
        rm "$f"
    fi
done

# --- 5. defaults for every service method ---------------------------------------------------------
(
    cd "$STAGE"
    protoc -I . --include_imports --descriptor_set_out="$TOOLS_DIR/services.pb" \
        temporal/api/workflowservice/v1/service.proto temporal/api/operatorservice/v1/service.proto
)
"$VENV/bin/python" "$ROOT/tools/generate-service-defaults.py" "$TOOLS_DIR/services.pb" "$TEMPORALIO_VERSION" \
    > "$OUT_TMP/ServiceDefaults.swift"

# --- 6. install + stamp -------------------------------------------------------------------------
mkdir -p "$DEST"
find "$DEST" -maxdepth 1 -type f \( -name '*.swift' -o -name 'GENERATED.stamp' \) -delete
cp "$OUT_TMP"/*.swift "$DEST/"
{
    echo "# Written by tools/generate-protos.sh; verified by tools/check-generated.sh. Do not edit."
    echo "temporalio $TEMPORALIO_VERSION"
    echo "swift-protobuf $SWIFT_PROTOBUF_VERSION"
    echo "grpc-swift-protobuf $GRPC_SWIFT_PROTOBUF_VERSION"
    echo "protoc $(protoc --version | awk '{print $2}')"
    echo "proto-inputs-sha256 $INPUTS_SHA"
    echo "files"
    (cd "$DEST" && sha256sum -- *.swift)
} > "$DEST/GENERATED.stamp"

log "wrote $(ls "$DEST"/*.swift | wc -l) files ($(cat "$DEST"/*.swift | wc -l) lines) to ${DEST#"$ROOT"/}"
