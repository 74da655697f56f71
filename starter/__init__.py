"""What other services and ops use to start and drive cases: a typed API (`starter.api`) and a CLI."""

from .api import CaseAlreadyExists, Complaints, Faults, Terminations, connect

__all__ = ["CaseAlreadyExists", "Complaints", "Faults", "Terminations", "connect"]
