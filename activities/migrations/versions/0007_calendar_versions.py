"""calendarversion: published working-day calendars, numbered, never edited (docs/calendar.md)

Revision ID: 0007
Revises: 0006
Create Date: 2027-01-20
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'calendarversion',
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('source', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('holidays', sa.JSON(), nullable=False),
        sa.Column('working_days', sa.JSON(), nullable=False),
        sa.Column('first_day', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.PrimaryKeyConstraint('version'))


def downgrade() -> None:
    op.drop_table('calendarversion')
