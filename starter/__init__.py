"""What other services and ops use to start and drive cases: a typed API (`starter.api`) and a CLI;
`connect` (edge.client) gives the client they take. Imported on first use, so the CLI loads only
what its command needs."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edge.client import connect

    from .api import Applications, CaseAlreadyExists, Complaints, Faults, Terminations

__all__ = ["Applications", "CaseAlreadyExists", "Complaints", "Faults", "Terminations", "connect"]


def __getattr__(name: str) -> Any:
    if name == "connect":
        return importlib.import_module("edge.client").connect
    if name in __all__:
        return getattr(importlib.import_module(".api", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
