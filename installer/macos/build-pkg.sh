#!/usr/bin/env bash
# Build dist/ShareGuard-<version>.pkg on macOS (needs Xcode command line tools: pkgbuild,
# productbuild; Python 3.10+ with `pip install . pyinstaller`). Not runnable on Linux CI.
#
#   SIGN_APP="Developer ID Application: Example Corp (TEAMID)"      optional, codesign the app
#   SIGN_PKG="Developer ID Installer: Example Corp (TEAMID)"        optional, sign the pkg
# Notarize afterwards: xcrun notarytool submit dist/ShareGuard-*.pkg --keychain-profile ... --wait
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/installer/macos"
cd "$ROOT"
[ "$(uname -s)" = Darwin ] || { echo "build-pkg: run this on macOS (pkgbuild is macOS-only)" >&2; exit 2; }
PYTHON="${PYTHON:-python3}"
VERSION="$("$PYTHON" -c 'import re; print(re.search(r"^version\s*=\s*\"([^\"]+)\"", open("pyproject.toml").read(), re.M).group(1))')"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# One spec for Windows and macOS: on macOS it also wraps the build in ShareGuard.app (LSUIElement).
"$PYTHON" -m PyInstaller --noconfirm --distpath "$WORK/dist" --workpath "$WORK/build" installer/windows/shareguard.spec
if [ -n "${SIGN_APP:-}" ]; then
    codesign --force --deep --options runtime --timestamp --sign "$SIGN_APP" "$WORK/dist/ShareGuard.app"
fi

mkdir -p "$WORK/root/Applications" "$WORK/root/Library/LaunchAgents"
ditto "$WORK/dist/ShareGuard.app" "$WORK/root/Applications/ShareGuard.app"
install -m 0644 "$HERE/com.shareguard.agent.plist" "$WORK/root/Library/LaunchAgents/"
chmod 0755 "$HERE/scripts/preinstall" "$HERE/scripts/postinstall"

pkgbuild --root "$WORK/root" --identifier com.shareguard.agent --version "$VERSION" \
    --scripts "$HERE/scripts" --install-location / "$WORK/ShareGuard-component.pkg"
mkdir -p dist
OUT="dist/ShareGuard-$VERSION.pkg"
if [ -n "${SIGN_PKG:-}" ]; then
    productbuild --sign "$SIGN_PKG" --package "$WORK/ShareGuard-component.pkg" "$OUT"
else
    productbuild --package "$WORK/ShareGuard-component.pkg" "$OUT"
fi
echo "build-pkg: wrote $OUT"
