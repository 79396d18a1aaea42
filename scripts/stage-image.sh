#!/usr/bin/env bash
# Lay out the runtime image's files under ROOTFS, for `COPY --from=build ROOTFS/ /` in the Dockerfile:
#   ROOTFS/peer-rendezvous                      the single executable, mode 0755 (also what `install` copies)
#   ROOTFS/usr/local/bin/peer-rendezvous        -> /peer-rendezvous, so ENTRYPOINT ["peer-rendezvous"] finds it
# Usage: scripts/stage-image.sh ROOTFS [EXECUTABLE]   (EXECUTABLE defaults to dist/peer-rendezvous)
set -euo pipefail
cd "$(dirname "$0")/.."
rootfs=${1:?usage: scripts/stage-image.sh ROOTFS [EXECUTABLE]}
exe=${2:-dist/peer-rendezvous}
if [ ! -x "$exe" ]; then
  echo "stage-image: $exe is missing or not executable: run scripts/build-exe.sh first" >&2
  exit 1
fi
mkdir -p "$rootfs/usr/local/bin"
install -m 0755 "$exe" "$rootfs/peer-rendezvous"
ln -sfn /peer-rendezvous "$rootfs/usr/local/bin/peer-rendezvous"
echo "stage-image: $rootfs/peer-rendezvous ($(stat -c %s "$rootfs/peer-rendezvous") bytes), $rootfs/usr/local/bin/peer-rendezvous -> /peer-rendezvous"
