#!/usr/bin/env bash
# Make sure the Python that `make` uses can build a venv (ensurepip) and draw
# the warning (tkinter). Debian ships both as separate packages
# (python3-venv, python3-tk): as root we install them, otherwise we say
# exactly what to run instead of letting `python3 -m venv` fail obscurely.
set -euo pipefail
PY=${1:-python3}
missing=()
"$PY" -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
"$PY" -c 'import tkinter' 2>/dev/null || missing+=(python3-tk)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} (needed by $PY for the venv and the warning window)"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null \
        || { apt-get -o DPkg::Lock::Timeout=600 update -qq && \
             DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null; }
    exit 0
fi
echo "ShareGuard needs ${missing[*]} for $PY. Install them, then run make again:" >&2
echo "    sudo apt-get install ${missing[*]}" >&2
exit 1
