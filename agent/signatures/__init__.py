"""Signature data: which apps share screens or control the desktop, and which windows are sensitive.

:mod:`agent.signatures.model` holds the frozen objects the engine reads;
:mod:`agent.signatures.loader` builds them from the YAML files in ``signatures/``.
"""

from agent.signatures.loader import Problem, SignatureError, load_signatures

__all__ = ["Problem", "SignatureError", "load_signatures"]
