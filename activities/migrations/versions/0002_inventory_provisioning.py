"""inventory and provisioning: coverage, number pool, customer lines, risk list, orders
(adapters/inventory.py, adapters/provisioning.py)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customerline',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('holder_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('customer_ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('service_type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('line_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('terminated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('order_id')
    )
    with op.batch_alter_table('customerline', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customerline_customer_ref'), ['customer_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_customerline_holder_hash'), ['holder_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_customerline_line_id'), ['line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customerline_status'), ['status'], unique=False)

    op.create_table('identityflag',
    sa.Column('holder_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('flagged_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('holder_hash')
    )
    op.create_table('poolnumber',
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('service_type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('order_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('holder_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('quarantine_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('number'),
    sa.UniqueConstraint('order_id')
    )
    with op.batch_alter_table('poolnumber', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poolnumber_holder_hash'), ['holder_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_poolnumber_service_type'), ['service_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_poolnumber_status'), ['status'], unique=False)

    op.create_table('provisioningorder',
    sa.Column('order_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('workflow_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('service_type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('requested_start_date', sa.Date(), nullable=False),
    sa.Column('holder_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('customer_ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('line_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('order_id')
    )
    with op.batch_alter_table('provisioningorder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provisioningorder_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_provisioningorder_workflow_id'), ['workflow_id'], unique=False)

    op.create_table('servicecoverage',
    sa.Column('service_type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('available', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('service_type', 'region')
    )


def downgrade() -> None:
    op.drop_table('servicecoverage')
    with op.batch_alter_table('provisioningorder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_provisioningorder_workflow_id'))
        batch_op.drop_index(batch_op.f('ix_provisioningorder_status'))

    op.drop_table('provisioningorder')
    with op.batch_alter_table('poolnumber', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poolnumber_status'))
        batch_op.drop_index(batch_op.f('ix_poolnumber_service_type'))
        batch_op.drop_index(batch_op.f('ix_poolnumber_holder_hash'))

    op.drop_table('poolnumber')
    op.drop_table('identityflag')
    with op.batch_alter_table('customerline', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customerline_status'))
        batch_op.drop_index(batch_op.f('ix_customerline_line_id'))
        batch_op.drop_index(batch_op.f('ix_customerline_holder_hash'))
        batch_op.drop_index(batch_op.f('ix_customerline_customer_ref'))

    op.drop_table('customerline')
