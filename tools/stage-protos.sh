#!/usr/bin/env bash
# Helper for tools/generate-protos.sh and tools/check-generated.sh.
#
#   tools/stage-protos.sh WHEEL_DIR STAGE_DIR   copy the Temporal API .proto inputs out of an
#                                              installed temporalio package into STAGE_DIR
#   tools/stage-protos.sh --hash STAGE_DIR      print one sha256 over the staged inputs taken from
#                                              the wheel (path + content; well-known types excluded)
set -euo pipefail
export LC_ALL=C

if [[ "${1:-}" == "--hash" ]]; then
    cd "$2"
    find . -name '*.proto' ! -path './google/protobuf/*' | sed 's|^\./||' | sort \
        | xargs sha256sum -- | sha256sum | awk '{print $1}'
    exit 0
fi

WHEEL_DIR="$1"
STAGE="$2"
SRC="$WHEEL_DIR/bridge/sdk-core/crates/protos/protos"
[[ -d "$SRC/api_upstream/temporal/api" ]] || { echo "error: no Temporal protos under $SRC" >&2; exit 1; }

rm -rf "$STAGE"
mkdir -p "$STAGE/google/api" "$STAGE/google/rpc" "$STAGE/google/protobuf" "$STAGE/grpc/health/v1"
cp -R "$SRC/api_upstream/temporal" "$STAGE/"
cp -R "$SRC/api_upstream/nexusannotations" "$STAGE/"
cp "$SRC/api_upstream/google/api/annotations.proto" "$SRC/api_upstream/google/api/http.proto" "$STAGE/google/api/"
cp "$SRC/google/rpc/status.proto" "$STAGE/google/rpc/"
cp "$SRC/grpc/health/v1/health.proto" "$STAGE/grpc/health/v1/"
# Only .proto files, with normalised permissions and no stray metadata.
find "$STAGE" -type f ! -name '*.proto' -delete
find "$STAGE" -type f -exec chmod 0644 {} +
