"""The outside world's state for the demo and the tests: a subscriber in service (billing account,
lines, rented devices), and the demo run's whole outside world (`seed_demo`). Each call adds only
what is missing. `python -m starter.seed RUN_ID` runs `seed_demo` on the configured database."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa

from edge.id_hash import HashKeyRing, id_hash
from models.catalog import ServiceType
from models.common import Region
from models.identity import IdentityDocument, IdType, VerificationSource
from models.termination import EquipmentKind, TerminationInput

from .billing import seed_account
from .deprovisioning import seed_line
from .inventory import seed_inventory
from .network import seed_services, seed_subscribed_lines

DEMO_ID = IdentityDocument(id_type=IdType.resident_id_card, id_number="11010519491231002X",
                           verification_source=VerificationSource.card_reader)


def demo_account(run_id: str) -> tuple[str, str, str]:
    """(account id, mobile line, modem serial) of the demo run's subscriber."""
    return f"ACCT-DEMO-{run_id}", f"199{int(run_id) % 10**8:08d}", f"ONT-DEMO-{run_id}"


def seed_subscriber(engine: sa.Engine, account_id: str, customer_ref: str, identity: IdentityDocument,
                    lines: Iterable[tuple[ServiceType, str]], *, keys: HashKeyRing, balance_fen: int = 0,
                    contract_end: date | None = None, equipment: Iterable[tuple[str, EquipmentKind]] = ()) -> None:
    """An account in service with its lines (service type, line id) and rented devices, held by the
    person with this ID (hashed under the ring's current key); adds only what is missing."""
    holder = id_hash(identity.id_type, identity.id_number, keys)
    seed_account(engine, account_id, customer_ref, holder, balance_fen=balance_fen, contract_end=contract_end,
                 equipment=equipment)
    for service_type, line_id in lines:
        seed_line(engine, customer_ref, holder, service_type, line_id)


def demo_change_lines(run_id: str) -> list[str]:
    """The network lines of the demo run's service change (urban broadband of CUST-2001)."""
    return [f"BB-D{run_id[-8:]}-{n}" for n in range(1, 4)]


def seed_demo(engine: sa.Engine, run_id: str, keys: HashKeyRing) -> None:
    """Coverage and free numbers, network lines (the run's service change's too), and the run's
    subscriber account to terminate."""
    seed_inventory(engine)
    seed_services(engine)
    seed_subscribed_lines(engine, [(line, Region.urban, ServiceType.broadband, "CUST-2001")
                                   for line in demo_change_lines(run_id)])
    account, mobile, modem = demo_account(run_id)
    seed_subscriber(engine, account, "CUST-3001", DEMO_ID, [(ServiceType.mobile, mobile)], keys=keys,
                    balance_fen=3000, equipment=[(modem, EquipmentKind.optical_modem)])


MOBILE_NUMBER = re.compile(r"^1[3-9][0-9]{9}$")


def seed_for_termination(engine: sa.Engine, request: TerminationInput, keys: HashKeyRing) -> None:
    """The subscriber a termination request names, in service: its account, its lines (a mobile
    number as a mobile line, any other line as broadband), held by the person of its ID, and one
    rented modem `ONT-<account id>`. For trying a termination on a development stack."""
    lines = [(ServiceType.mobile if MOBILE_NUMBER.match(line) else ServiceType.broadband, line)
             for line in request.services]
    seed_subscriber(engine, request.account_id, request.customer.customer_ref, request.identity, lines, keys=keys,
                    equipment=[(f"ONT-{request.account_id}", EquipmentKind.optical_modem)])
