#!/usr/bin/env bash
# Build dist/shareguard_<version>_<arch>.deb (run by `make package`).
#
# Layout of the package (see docs/it-deployment.md):
#   /opt/shareguard/wheels/      the shareguard wheel + every dependency, for each supported Python
#   /opt/shareguard/venv/        NOT shipped: postinst creates it with the system python3 and installs
#                                the wheels offline (pip --no-index). A venv holds absolute paths
#                                (shebangs, pyvenv.cfg, bin/python -> /usr/bin/python3.X) and must
#                                match the target's Python, so it is made where and when it is used.
#   /usr/bin/shareguard          wrapper that runs the venv's console script
#   /usr/lib/shareguard/session-start   run by the XDG autostart entry in every graphical session
#   /etc/xdg/autostart/shareguard.desktop, /usr/lib/systemd/user/shareguard.service
#   /etc/shareguard/policy.yaml  example machine policy (conffile; every key commented out)
#
# Environment: PYTHON (build python, default .venv/bin/python), TARGET_PYTHONS (default
# "3.10 3.11 3.12 3.13": Ubuntu 22.04 ... Debian 13), DIST (output dir, default dist/).
# Needs: dpkg-deb, fakeroot (optional: without it, root-owned files need a root build), network to PyPI
# (or a warm pip cache) for the dependency wheels.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/installer/linux"
cd "$ROOT"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
TARGET_PYTHONS="${TARGET_PYTHONS:-3.10 3.11 3.12 3.13}"
DIST="${DIST:-$ROOT/dist}"

VERSION="$("$PYTHON" -c 'import re,sys; print(re.search(r"^version\s*=\s*\"([^\"]+)\"", open("pyproject.toml").read(), re.M).group(1))')"
ARCH="$(dpkg --print-architecture)"
case "$ARCH" in
    amd64) MACHINE=x86_64 ;;
    arm64) MACHINE=aarch64 ;;
    *) echo "build-deb: unsupported architecture $ARCH (wheels exist for amd64 and arm64)" >&2; exit 2 ;;
esac

WORK="$(mktemp -d "${TMPDIR:-/tmp}/shareguard-deb.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
STAGE="$WORK/shareguard_${VERSION}_${ARCH}"
WHEELS="$STAGE/opt/shareguard/wheels"
mkdir -p "$WHEELS"

echo "build-deb: building the shareguard wheel"
"$PYTHON" -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$WORK/own" "$ROOT"
OWN_WHEEL="$(ls "$WORK"/own/shareguard-*.whl)"
cp "$OWN_WHEEL" "$WHEELS/"

# Binary wheels only, for each Python the package supports, up to manylinux_2_28 (glibc 2.28):
# every distribution with python3 >= 3.10 has a newer glibc, and pip on the target picks from these.
PLATFORMS=()
for tag in manylinux2014 manylinux_2_17 manylinux_2_24 manylinux_2_28; do
    PLATFORMS+=(--platform "${tag}_${MACHINE}")
done
for pyver in $TARGET_PYTHONS; do
    echo "build-deb: dependency wheels for Python $pyver"
    "$PYTHON" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
        --implementation cp --python-version "$pyver" "${PLATFORMS[@]}" \
        --dest "$WHEELS" "$OWN_WHEEL"
done

echo "build-deb: staging files"
install -D -m 0755 "$HERE/shareguard-wrapper.sh" "$STAGE/usr/bin/shareguard"
install -D -m 0755 "$HERE/session-start.sh" "$STAGE/usr/lib/shareguard/session-start"
install -D -m 0644 "$HERE/shareguard.desktop" "$STAGE/etc/xdg/autostart/shareguard.desktop"
install -D -m 0644 "$HERE/shareguard.service" "$STAGE/usr/lib/systemd/user/shareguard.service"
install -D -m 0644 "$HERE/policy.yaml" "$STAGE/etc/shareguard/policy.yaml"
install -D -m 0644 "$HERE/copyright" "$STAGE/usr/share/doc/shareguard/copyright"
install -D -m 0644 "$ROOT/docs/it-deployment.md" "$STAGE/usr/share/doc/shareguard/it-deployment.md"
printf '%s\n' $TARGET_PYTHONS > "$STAGE/opt/shareguard/wheels/SUPPORTED_PYTHONS"

mkdir -p "$STAGE/DEBIAN"
for script in postinst prerm postrm; do
    sed -e "s/@VERSION@/$VERSION/" "$HERE/debian/$script" > "$STAGE/DEBIAN/$script"
    chmod 0755 "$STAGE/DEBIAN/$script"
done
install -m 0644 "$HERE/debian/conffiles" "$STAGE/DEBIAN/conffiles"
SIZE_KB="$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)"
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$SIZE_KB/" \
    "$HERE/debian/control.in" > "$STAGE/DEBIAN/control"

mkdir -p "$DIST"
OUT="$DIST/shareguard_${VERSION}_${ARCH}.deb"
# Wheels are already compressed, so gzip is as small as xz here and much faster.
# --root-owner-group: files belong to root:root whoever builds (dpkg-deb >= 1.19); fakeroot not needed.
dpkg-deb --root-owner-group -Zgzip --build "$STAGE" "$OUT" >/dev/null
echo "build-deb: wrote $OUT ($(du -h "$OUT" | cut -f1))"
