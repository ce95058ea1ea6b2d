#!/bin/sh
# Remove ShareGuard from a Mac (run as root: sudo sh uninstall.sh, or from an MDM script).
# Machine policy in /Library/Application Support/ShareGuard is kept unless --purge is given.
set -e
PLIST=/Library/LaunchAgents/com.shareguard.agent.plist
for uid in $(ps -axo uid=,comm= | awk '/loginwindow$/ {print $1}' | sort -u); do
    launchctl bootout "gui/$uid" "$PLIST" 2>/dev/null || true
done
rm -f "$PLIST"
rm -rf /Applications/ShareGuard.app
pkgutil --forget com.shareguard.agent >/dev/null 2>&1 || true
if [ "${1:-}" = "--purge" ]; then
    rm -rf "/Library/Application Support/ShareGuard"
fi
exit 0
