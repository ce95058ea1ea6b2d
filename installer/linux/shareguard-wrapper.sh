#!/bin/sh
# /usr/bin/shareguard: run ShareGuard from its private environment (made by the package's postinst).
VENV=/opt/shareguard/venv
if [ ! -x "$VENV/bin/python" ] || [ ! -x "$VENV/bin/shareguard" ]; then
    # bin/python is a symlink to /usr/bin/python3.X: it breaks when that Python is removed
    # (a distribution upgrade); recreating the environment fixes it.
    echo "shareguard: its Python environment in $VENV is missing or broken (was python3 upgraded?)." >&2
    echo "shareguard: an administrator can repair it with: sudo dpkg-reconfigure shareguard" >&2
    echo "shareguard: 运行环境 $VENV 缺失或损坏（是否升级了 python3？），管理员可运行 sudo dpkg-reconfigure shareguard 修复。" >&2
    exit 70
fi
exec "$VENV/bin/shareguard" "$@"
