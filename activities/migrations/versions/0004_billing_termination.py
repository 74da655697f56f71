"""billing and termination: accounts, ledger, final bills, rented equipment (adapters/billing.py);
termination claims and personal-data erasure certificates (activities/termination.py)

Revision ID: 0004
Revises: 0001
Create Date: 2026-12-01
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0004'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('billingaccount',
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('customer_ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('holder_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('balance_fen', sa.Integer(), nullable=False),
    sa.Column('contract_end', sa.Date(), nullable=True),
    sa.Column('billing_stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('account_id')
    )
    with op.batch_alter_table('billingaccount', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billingaccount_customer_ref'), ['customer_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_billingaccount_status'), ['status'], unique=False)

    op.create_table('dataerasure',
    sa.Column('workflow_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('certificate_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('customer_ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('restricted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('erase_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('erased', sa.JSON(), nullable=False),
    sa.Column('retained', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('workflow_id'),
    sa.UniqueConstraint('certificate_id')
    )
    with op.batch_alter_table('dataerasure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dataerasure_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dataerasure_customer_ref'), ['customer_ref'], unique=False)

    op.create_table('terminationclaim',
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('workflow_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('account_id'),
    sa.UniqueConstraint('workflow_id')
    )
    op.create_table('billingentry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['billingaccount.account_id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'key')
    )
    with op.batch_alter_table('billingentry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billingentry_account_id'), ['account_id'], unique=False)

    op.create_table('finalbill',
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('workflow_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opening_balance_fen', sa.Integer(), nullable=False),
    sa.Column('early_termination_fee_fen', sa.Integer(), nullable=False),
    sa.Column('closing_balance_fen', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['billingaccount.account_id'], ),
    sa.PrimaryKeyConstraint('account_id')
    )
    op.create_table('rentedequipment',
    sa.Column('serial', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('charge_fen', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['billingaccount.account_id'], ),
    sa.PrimaryKeyConstraint('serial')
    )
    with op.batch_alter_table('rentedequipment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rentedequipment_account_id'), ['account_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('rentedequipment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rentedequipment_account_id'))

    op.drop_table('rentedequipment')
    op.drop_table('finalbill')
    with op.batch_alter_table('billingentry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billingentry_account_id'))

    op.drop_table('billingentry')
    op.drop_table('terminationclaim')
    with op.batch_alter_table('dataerasure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dataerasure_customer_ref'))
        batch_op.drop_index(batch_op.f('ix_dataerasure_account_id'))

    op.drop_table('dataerasure')
    with op.batch_alter_table('billingaccount', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billingaccount_status'))
        batch_op.drop_index(batch_op.f('ix_billingaccount_customer_ref'))

    op.drop_table('billingaccount')
