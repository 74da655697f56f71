"""networkservice: each line's service type, subscriber and special-care flag; changewindow: the open
windows of service changes, which FaultRepair reads (docs/processes.md § Service change)

Revision ID: 0008
Revises: 0007
Create Date: 2027-02-01
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('networkservice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('service_type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch_op.add_column(sa.Column('customer_ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('special_care', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f('ix_networkservice_region'), ['region'], unique=False)
        batch_op.create_index(batch_op.f('ix_networkservice_service_type'), ['service_type'], unique=False)
    op.create_table(
        'changewindow',
        sa.Column('workflow_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('change_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('scope', sa.JSON(), nullable=False),
        sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('workflow_id'))


def downgrade() -> None:
    op.drop_table('changewindow')
    with op.batch_alter_table('networkservice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_networkservice_service_type'))
        batch_op.drop_index(batch_op.f('ix_networkservice_region'))
        batch_op.drop_column('special_care')
        batch_op.drop_column('customer_ref')
        batch_op.drop_column('service_type')
