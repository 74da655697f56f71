"""Outside-world state for the demo (`python -m activities.seed RUN_ID`): coverage and free numbers,
network lines, and one subscriber account to terminate. Each run adds only what is missing."""

from __future__ import annotations

import sys

from activities.database import make_engine, upgrade
from activities.inventory import seed_inventory
from activities.network import seed_services
from activities.termination import seed_subscriber
from models.identity import IdentityDocument

DEMO_ID = IdentityDocument(id_type="resident_id_card", id_number="11010519491231002X",
                           verification_source="card_reader")


def demo_account(run_id: str) -> tuple[str, str, str]:
    """(account id, mobile line, modem serial) of the demo run's subscriber."""
    return f"ACCT-DEMO-{run_id}", f"199{int(run_id) % 10**8:08d}", f"ONT-DEMO-{run_id}"


def main() -> None:
    run_id = sys.argv[1]
    engine = make_engine()
    upgrade(engine)
    seed_inventory(engine)
    seed_services(engine)
    account, mobile, modem = demo_account(run_id)
    seed_subscriber(engine, account, "CUST-3001", DEMO_ID, [("mobile", mobile)], balance_fen=3000,
                    equipment=[(modem, "optical_modem")])
    engine.dispose()


if __name__ == "__main__":
    main()
