"""What other services and ops use to start and drive cases: a typed API (`starter.api`) and a CLI;
`connect` (edge.client) gives the client they take."""

from edge.client import connect

from .api import Applications, CaseAlreadyExists, Complaints, Faults, Terminations

__all__ = ["Applications", "CaseAlreadyExists", "Complaints", "Faults", "Terminations", "connect"]
