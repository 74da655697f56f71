"""Typed API over the public contract: start a case, send each human action, read its status.
Workflows, updates, queries and signals are named as a client in any language names them: a
client needs the models, not the workflow code. One module per process, so a program that drives
one process loads that process's models only."""

from __future__ import annotations

from .applications import Applications
from .cases import CaseAlreadyExists
from .changes import Changes
from .complaints import Complaints
from .faults import Faults
from .terminations import Terminations

__all__ = ["Applications", "CaseAlreadyExists", "Changes", "Complaints", "Faults", "Terminations"]
