"""holder hashes name their key: `<key id>$<64 hex>` (edge/id_hash.py); hashes stored before
key ids become `legacy$<hex>`, which the ring recognises while it holds a key with id `legacy`

Revision ID: 0005
Revises: 0002, 0004
Create Date: 2026-12-15
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0005'
down_revision = ('0002', '0004')
branch_labels = None
depends_on = None

TABLES = {'billingaccount': False, 'customerline': False, 'identityflag': False, 'poolnumber': True,
          'provisioningorder': False}
"""Table → whether holder_hash is nullable."""
REFERRING = {'billingaccount': ('billingentry', 'finalbill', 'rentedequipment')}
"""Tables with a foreign key to the table."""
HEX = 64


def _holder_hash(table: str) -> sa.TableClause:
    return sa.table(table, sa.column('holder_hash', sa.String()))


def upgrade() -> None:
    for table, nullable in TABLES.items():
        _alter(table, sa.VARCHAR(length=64), sqlmodel.sql.sqltypes.AutoString(length=129), nullable)
        rows = _holder_hash(table)
        column = rows.c.holder_hash
        # Only bare hex: 'erased' and NULL hold no hash.
        op.execute(sa.update(rows).where(sa.func.length(column) == HEX)
                   .values(holder_hash=sa.literal('legacy$') + column))


def downgrade() -> None:
    for table, nullable in TABLES.items():
        rows = _holder_hash(table)
        column = rows.c.holder_hash
        op.execute(sa.update(rows).where(sa.func.length(column) > HEX)
                   .values(holder_hash=sa.func.substr(column, sa.func.length(column) - HEX + 1)))
        _alter(table, sqlmodel.sql.sqltypes.AutoString(length=129), sa.VARCHAR(length=64), nullable)


def _alter(table: str, existing_type, type_, nullable: bool) -> None:
    # SQLite's batch mode drops and recreates the table, and with foreign keys on (as every
    # connection has them) dropping billingaccount fails while ledger, bill or equipment rows
    # refer to it: those rows wait aside meanwhile.
    aside = REFERRING.get(table, ()) if op.get_bind().dialect.name == 'sqlite' else ()
    for child in aside:
        op.execute(f'CREATE TEMP TABLE _aside_{child} AS SELECT * FROM {child}')
        op.execute(f'DELETE FROM {child}')
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.alter_column('holder_hash',
               existing_type=existing_type,
               type_=type_,
               existing_nullable=nullable)
    for child in aside:
        op.execute(f'INSERT INTO {child} SELECT * FROM _aside_{child}')
        op.execute(f'DROP TABLE _aside_{child}')
