"""Which ID hash keys the adapters' rows still use: an old key can leave the ring
(TELECOM_ID_HASH_KEY, edge.id_hash) once no row holds a hash made under it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, func, select

from edge.sql import table_of

from .billing import BillingAccount
from .inventory import CustomerLine, IdentityFlag, PoolNumber
from .provisioning import ProvisioningOrder


def hash_key_usage(engine: sa.Engine) -> dict[str, dict[str, int]]:
    """Key id → table → rows whose holder hash was made under that key: an old key can leave the
    ring (TELECOM_ID_HASH_KEY) once it has no rows. Erased and released rows hold no hash."""
    usage: dict[str, dict[str, int]] = {}
    with Session(engine) as session:
        for table in (CustomerLine, PoolNumber, IdentityFlag, ProvisioningOrder, BillingAccount):
            column = table.holder_hash
            # `<kid>$<64 hex>`: the key id is all but the last 65 characters (substr and length: portable SQL).
            kid = sa.func.substr(column, 1, sa.func.length(column) - 65)
            for key_id, rows in session.execute(select(kid, func.count()).where(
                    sa.func.length(column) > 65).group_by(kid)):
                usage.setdefault(key_id, {})[table_of(table).name] = rows
    return usage
