"""qualityfigure: the KPIs of each reported period (docs/quality.md), replaced whole by a rerun

Revision ID: 0009
Revises: 0008
Create Date: 2027-03-01
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'qualityfigure',
        sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('process', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('kpi', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column('dimension', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('value', sa.Float(), nullable=True),
        sa.Column('numerator', sa.Float(), nullable=True),
        sa.Column('denominator', sa.Float(), nullable=True),
        sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('period', 'process', 'kpi', 'dimension'))


def downgrade() -> None:
    op.drop_table('qualityfigure')
