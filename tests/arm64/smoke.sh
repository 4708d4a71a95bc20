#!/usr/bin/env bash
# `make test-arm64`: the package on arm64 for real, in a Debian 12 arm64 root under qemu
# user emulation (what a Pi 4/5 on Raspberry Pi OS Bookworm 64-bit runs). A smoke test:
#   1. it installs and imports on arm64 with both runtimes (ai-edge-litert, tflite-runtime);
#   2. `hingewatch pose pose.jpg` with the float and the int8 models lands within the
#      limits it meets on x86 (tests/test_blazepose.py's 15 px), compared here on the host;
#   3. the pure-Python tests (config, events, outbox, bends on recorded poses) pass.
# Needs root (debootstrap, chroot) and Debian's qemu-user-static, binfmt-support and
# debootstrap (installed when missing). The root is kept in ~/.cache/hingewatch/arm64-root
# (debootstrap took 4.5 min here; later runs reuse it). Emulation is slow (~7.5 s per
# landmark-model invoke), so the root gets neither the host's /proc nor /sys: XNNPACK
# crashes under qemu when it reads the host's CPU description there.
#
# `smoke.sh deps` stops after the Debian packages (apt, so CI runs it before anything else
# takes apt's lock); `smoke.sh root` after the arm64 root exists (it needs no venv, so CI
# makes it while the venv and the int8 models are made).
set -euo pipefail
PHASE="${1:-all}"
case "$PHASE" in deps|root|all) ;; *) echo "usage: smoke.sh [deps|root]" >&2; exit 2 ;; esac

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${HINGEWATCH_PYTHON:-$ROOT_DIR/.venv/bin/python}"
FIXTURES="${HINGEWATCH_FIXTURES:-$ROOT_DIR/../shared/fixtures}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/hingewatch"
CHROOT="$CACHE/arm64-root"
MIRROR="${HINGEWATCH_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
step() { echo "arm64: $*"; }
fail() { echo "arm64: FAILED: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || fail "needs root (debootstrap and chroot): sudo make test-arm64"
missing=()
for pkg in qemu-user-static binfmt-support debootstrap; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
    step "installing ${missing[*]} from apt"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
[[ "$PHASE" == deps ]] && exit 0
if [[ ! -e /proc/sys/fs/binfmt_misc/register ]]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
[[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]] || fail "qemu-aarch64 is not registered with binfmt_misc"

if [[ ! -f "$CHROOT/.hingewatch-root" ]]; then
    step "debootstrap Debian 12 arm64 (minbase) into $CHROOT (a few minutes, once)"
    rm -rf "$CHROOT.part"
    debootstrap --arch=arm64 --variant=minbase \
        --include=python3,python3-venv,python3-pip,ca-certificates \
        bookworm "$CHROOT.part" "$MIRROR" >"$OUT/debootstrap.log" 2>&1 \
        || { tail -n 20 "$OUT/debootstrap.log" >&2; fail "debootstrap"; }
    rm -rf "$CHROOT" && mv "$CHROOT.part" "$CHROOT"
    touch "$CHROOT/.hingewatch-root"
fi
[[ "$(chroot "$CHROOT" uname -m)" == aarch64 ]] || fail "the root does not run as aarch64"
[[ "$PHASE" == root ]] && exit 0
[[ -d "$FIXTURES/images" ]] || fail "no fixtures at $FIXTURES (set HINGEWATCH_FIXTURES)"

step "the project, its float and int8 models and pose.jpg into the root"
"$ROOT_DIR/.venv/bin/hingewatch" models quantize --variant full | sed 's/^/arm64:   /'
rm -rf "$CHROOT/opt/hingewatch" && mkdir -p "$CHROOT/opt/hingewatch/models" "$CHROOT/opt/fixtures"
git -C "$ROOT_DIR" ls-files -z --cached --others --exclude-standard \
    | (cd "$ROOT_DIR" && tar --null -T - -c) | tar -x -C "$CHROOT/opt/hingewatch"
"$PY" - "$CHROOT/opt/hingewatch/models" <<'PYEOF'
import shutil, sys
from pathlib import Path
from edge.pose.built import record_path
from edge.pose.models import model_names, model_path
dest = Path(sys.argv[1])
for precision in ("float", "int8"):
    for name in model_names("full", precision):
        src = model_path(name)
        shutil.copy(src, dest / src.name)
        if record_path(src).is_file():
            shutil.copy(record_path(src), dest / record_path(src).name)
PYEOF
cp -r "$FIXTURES/images" "$FIXTURES/expected" "$CHROOT/opt/fixtures/"
# pip inside reaches the registry with the host's CA bundle (as the host's own pip does).
mkdir -p "$CHROOT/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$CHROOT/etc/ssl/certs/ca-certificates.crt"
cp "$ROOT_DIR/tests/arm64/inside.sh" "$CHROOT/opt/inside.sh"

step "inside the arm64 root (emulated: slow)"
started=$SECONDS
if ! env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_DEFAULT_TIMEOUT=180 HINGEWATCH_FIXTURES=/opt/fixtures \
    "$(command -v chroot)" "$CHROOT" bash /opt/inside.sh /opt/out 2>&1 \
    | sed 's/^/arm64:   /'; then
    fail "inside the arm64 root"
fi
step "inside took $((SECONDS - started)) s"

step "pose.jpg on arm64 against the goldens and the host's run"
"$PY" "$ROOT_DIR/tests/arm64/compare.py" "$CHROOT/opt/out" "$FIXTURES"
step "passed"
