"""What other services and ops use to start and drive cases: a typed API (`starter.api`) and a CLI;
`connect` (edge.client) gives the client they take. Imported on first use, so the CLI loads only
what its command needs."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edge.client import connect

    from .api import Applications, CaseAlreadyExists, Changes, Complaints, Faults, Terminations

__all__ = ["Applications", "CaseAlreadyExists", "Changes", "Complaints", "Faults", "Terminations", "connect"]


_HOMES = {"Applications": "starter.applications", "CaseAlreadyExists": "starter.cases", "Changes": "starter.changes",
          "Complaints": "starter.complaints", "Faults": "starter.faults", "Terminations": "starter.terminations",
          "connect": "edge.client"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
