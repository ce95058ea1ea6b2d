"""The UI helper protocol: how the agent starts the helper process and what they say.

The helper owns its command-line flag here, so the agent's side
(agent.responders.ui_client) and the command line (agent.cli) both import it
from the UI package instead of from each other.
"""

#: Hidden first argument that runs the UI helper process. A frozen build
#: (PyInstaller: shareguard.exe, ShareGuard.app) has no ``python -m``, so the
#: UI client starts the same executable with this argument instead.
UI_HELPER_FLAG = "--ui-helper"
