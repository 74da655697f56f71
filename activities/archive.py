"""Staff reading the archive (guide 7.3–7.4; docs/archive.md): `find` and `show` only by a known member of
staff with a stated purpose, each read logged in the same transaction as the read itself; personal data
masked unless the staff's role may see it; legal holds placed and released by the roles allowed to."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from edge.sql import UTCDateTime, table_of
from models.archive import HOLDING_ROLES, UNMASKED_ROLES, ArchiveAction, ArchiveQuery, ArchiveRequest, ArchiveRole
from models.identity import mask

from .records import ARCHIVE, CASE, CONTACT, EVENT
from .termination import KEPT_BY_CASE_TYPE, KEPT_KEYS, redact

MASKED_TEXT = "[masked]"


class ArchiveAccess(SQLModel, table=True):
    """The access log: one row per read of the archive and per legal hold or release, never edited."""

    __tablename__ = "archiveaccess"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    staff_id: str = Field(index=True, max_length=64)
    role: str = Field(max_length=20)
    purpose: str = Field(max_length=500, description="why it was read; for a hold or release, the reason")
    action: str = Field(max_length=10, description="find, show, hold or release")
    target: str = Field(index=True, max_length=120,
                        description="what was asked for: case:<workflow id>, customer:<customer ref>, or a "
                                    "workflow id (show, hold, release)")
    results: int = Field(description="entries found (find), 1 or 0 (show, hold, release)")


ACCESS = table_of(ArchiveAccess)


class ArchiveRefused(Exception):
    """A request refused before anything is read or written; `kind` is its machine-readable type."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message


class Archive:
    """The archive as staff see it; `staff` is TELECOM_ARCHIVE_STAFF (staff id → role)."""

    def __init__(self, engine: sa.Engine, staff: Mapping[str, ArchiveRole]) -> None:
        self.engine = engine
        self.staff = staff

    def find(self, query: ArchiveQuery) -> list[dict[str, Any]]:
        """Archived cases of one workflow id or one customer: an index, with no personal data."""
        role = self._role(query)
        where = (ARCHIVE.c.workflow_id == query.workflow_id if query.workflow_id is not None
                 else CASE.c.customer_ref == query.customer_ref)
        target = f"case:{query.workflow_id}" if query.workflow_id is not None else f"customer:{query.customer_ref}"
        with self.engine.begin() as db:
            rows = db.execute(sa.select(ARCHIVE.c.workflow_id, ARCHIVE.c.classification, ARCHIVE.c.archived_at,
                                        ARCHIVE.c.retain_until, ARCHIVE.c.held_at, CASE.c.state, CASE.c.customer_ref,
                                        CASE.c.opened_at, CASE.c.closed_at)
                              .join(CASE, CASE.c.workflow_id == ARCHIVE.c.workflow_id).where(where)
                              .order_by(ARCHIVE.c.archived_at, ARCHIVE.c.workflow_id)).all()
            _log(db, query, role, "find", target, len(rows))
        return [{"workflow_id": r.workflow_id, "classification": r.classification, "state": r.state,
                 "customer_ref": r.customer_ref, "opened_at": _iso(r.opened_at), "closed_at": _iso(r.closed_at),
                 "archived_at": _iso(r.archived_at), "retain_until": _iso(r.retain_until),
                 "legal_hold": r.held_at is not None} for r in rows]

    def show(self, workflow_id: str, request: ArchiveRequest) -> dict[str, Any] | None:
        """One archived case: its entry, the case's facts, its events and its customer's contact, with
        personal data masked unless the role may see it. None: no such entry (the read is logged)."""
        role = self._role(request)
        with self.engine.begin() as db:
            entry = db.execute(sa.select(ARCHIVE).where(ARCHIVE.c.workflow_id == workflow_id)).first()
            case = db.execute(sa.select(CASE).where(CASE.c.workflow_id == workflow_id)).first() if entry else None
            events = db.execute(sa.select(EVENT).where(EVENT.c.workflow_id == workflow_id)
                                .order_by(EVENT.c.at, EVENT.c.id)).all() if entry else []
            contact = (db.execute(sa.select(CONTACT.c.name, CONTACT.c.phone)
                                  .where(CONTACT.c.customer_ref == case.customer_ref)).first()
                       if case is not None and case.customer_ref else None)
            _log(db, request, role, "show", workflow_id, int(entry is not None))
        if entry is None or case is None:
            return None
        masked = role not in UNMASKED_ROLES
        kept = KEPT_BY_CASE_TYPE.get(case.case_type, KEPT_KEYS)

        def personal(value: Any, kept: frozenset[str] = kept) -> Any:
            return redact(value, kept, placeholder=MASKED_TEXT) if masked else value

        # An event's reason is free text in every case type (a termination's `reason` key is a code): masked.
        return {
            "workflow_id": workflow_id, "classification": entry.classification, "archived_at": _iso(entry.archived_at),
            "retain_until": _iso(entry.retain_until),
            "legal_hold": None if entry.held_at is None else {"at": _iso(entry.held_at), "by": entry.held_by,
                                                              "reason": entry.hold_reason},
            "summary": personal(entry.summary), "masked": masked,
            "case": {"case_type": case.case_type, "state": case.state, "customer_ref": case.customer_ref,
                     "region": case.region, "severity": case.severity, "assignee": case.assignee,
                     "sla_breached": case.sla_breached, "opened_at": _iso(case.opened_at),
                     "closed_at": _iso(case.closed_at), "details": personal(case.details)},
            "customer": None if contact is None else {
                "name": mask_name(contact.name) if masked else contact.name,
                "phone": mask_phone(contact.phone) if masked else contact.phone},
            "events": [{"at": _iso(e.at), "step": e.step, "actor": e.actor, "from_state": e.from_state,
                        "to_state": e.to_state, "reason": personal(e.reason, frozenset())} for e in events]}

    def hold(self, workflow_id: str, request: ArchiveRequest) -> dict[str, Any]:
        """Place a legal hold: the purge leaves the case alone until it is released."""
        return self._set_hold(workflow_id, request, "hold")

    def release(self, workflow_id: str, request: ArchiveRequest) -> dict[str, Any]:
        return self._set_hold(workflow_id, request, "release")

    def _set_hold(self, workflow_id: str, request: ArchiveRequest, action: ArchiveAction) -> dict[str, Any]:
        role, at = self._role(request), datetime.now(UTC)
        if role not in HOLDING_ROLES:
            raise ArchiveRefused("NotAllowed", f"{request.staff} ({role}) may not {action} archive entries; "
                                               f"only {', '.join(sorted(HOLDING_ROLES))} may")
        holding = action == "hold"
        with self.engine.begin() as db:
            # Written under the row's write lock: of two staff at once, one holds and the other is refused.
            changed = db.execute(ARCHIVE.update().where(
                ARCHIVE.c.workflow_id == workflow_id,
                ARCHIVE.c.held_at.is_(None) if holding else ARCHIVE.c.held_at.is_not(None)).values(
                held_at=at if holding else None, held_by=request.staff if holding else None,
                hold_reason=request.purpose if holding else None)).rowcount
            if not changed:
                exists = db.execute(sa.select(ARCHIVE.c.held_at).where(ARCHIVE.c.workflow_id == workflow_id)).first()
                if exists is None:
                    raise ArchiveRefused("NotFound", f"no archive entry {workflow_id}")
                raise ArchiveRefused("InvalidAction", f"{workflow_id} is {'already' if holding else 'not'} under a "
                                                      "legal hold")
            _log(db, request, role, action, workflow_id, 1, at)
        return {"workflow_id": workflow_id, "legal_hold": holding, "at": _iso(at), "by": request.staff}

    def _role(self, request: ArchiveRequest) -> ArchiveRole:
        role = self.staff.get(request.staff)
        if role is None:
            raise ArchiveRefused("UnknownStaff", f"{request.staff} is not archive staff (TELECOM_ARCHIVE_STAFF)")
        return role


def _log(db: sa.Connection, request: ArchiveRequest, role: ArchiveRole, action: ArchiveAction, target: str,
         results: int, at: datetime | None = None) -> None:
    db.execute(ACCESS.insert().values(at=at or datetime.now(UTC), staff_id=request.staff, role=role,
                                      purpose=request.purpose, action=action, target=target, results=results))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def mask_name(name: str) -> str:
    """`张*`, `欧***`: the first character, so staff can address the person without reading the name."""
    return name[:1] + "*" * (len(name) - 1)


def mask_phone(phone: str) -> str:
    """`138****5678`, as Chinese operators print numbers; a short number masked like an ID number."""
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:] if len(phone) >= 10 else mask(phone)
