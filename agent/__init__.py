"""ShareGuard: a desktop agent that stops screen-sharing fraud.

The package is split the way the data flows (see docs/detection.md):
collectors observe, the engine decides, responders act.
"""

__version__ = "0.1.0"
