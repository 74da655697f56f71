"""What other services and ops use to start and drive cases: a typed API (`starter.api`) and a CLI."""

from .api import Applications, CaseAlreadyExists, Complaints, Faults, Terminations, connect

__all__ = ["Applications", "CaseAlreadyExists", "Complaints", "Faults", "Terminations", "connect"]
