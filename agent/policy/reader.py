"""The policy as its readers see it (responders, the UI): one typed interface."""

from __future__ import annotations

from typing import Any, Protocol


class PolicyReader(Protocol):
    """Read access to policy values: :class:`agent.policy.Policy`, or a plain
    mapping of policy keys (tests and the GUI harness pass one)."""

    def get(self, key: str) -> Any:
        """The value of a policy key (None when it is not set)."""
        ...
