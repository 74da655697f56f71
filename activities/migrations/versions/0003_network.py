"""network: the lines the fault-repair adapter tests (adapters/network.py)

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-01
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('networkservice',
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('monthly_rental_fen', sa.Integer(), nullable=False),
    sa.Column('failing_tests', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('service_id')
    )


def downgrade() -> None:
    op.drop_table('networkservice')
