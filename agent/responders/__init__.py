"""Everything that acts on verdicts, one module each (see base.Responder):

- ``audit``: verdict transitions -> audit events;
- ``ui_client``: the tray, toasts and the warning, drawn by the UI helper process;
- ``console``: console mode, one line per change;
- ``process_control``: freezes remote tools, ends them on request.
"""

from __future__ import annotations

from typing import List, Optional

from agent.audit import AuditTrail
from agent.policy.reader import PolicyReader
from agent.responders.base import Responder
from agent.ui import RuntimeControls, default_log_dir, policy_value


def build_responders(policy: Optional[PolicyReader], lang: str, audit: Optional[AuditTrail] = None,
                     controls: Optional[RuntimeControls] = None, *,
                     log_dir: Optional[str] = None) -> List[Responder]:
    """The graphical responders: the UI helper client and the process controller.

    ``controls``: the runtime's pause/resume/quit (None hides those actions' effect).
    """
    from agent.responders.process_control import ProcessController
    from agent.responders.ui_client import UiClient

    ui = UiClient(policy, lang, audit=audit, controls=controls, log_dir=log_dir or default_log_dir(audit))
    processes = ProcessController(audit=audit, grace_seconds=float(policy_value(policy, "end_grace_seconds")),
                                  on_ended=ui.report_ended, protect=ui.helper_pids)
    return [ui, processes]
