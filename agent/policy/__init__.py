"""Policy: one key table, layered sources, machine-locked keys.

Public API: :func:`load_policy`, :class:`Policy`, :func:`validate_mapping`,
:class:`Problem`, :data:`KEYS` (see docs/policy.md, generated from the table).
"""

from agent.policy.keys import KEYS, KEYS_BY_NAME, Key, defaults
from agent.policy.loader import Policy, load_policy
from agent.policy.placeholders import expand
from agent.policy.validate import Problem, validate_mapping

__all__ = ["KEYS", "KEYS_BY_NAME", "Key", "defaults", "Policy", "load_policy", "expand",
           "Problem", "validate_mapping"]
