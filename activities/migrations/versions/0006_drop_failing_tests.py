"""networkservice: drop `failing_tests`, a test hook in a production table; a test that needs line
tests to fail registers a failing network adapter of its own (adapters/network.py)

Revision ID: 0006
Revises: 0003, 0005
Create Date: 2027-01-10
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = ('0003', '0005')
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('networkservice', schema=None) as batch_op:
        batch_op.drop_column('failing_tests')


def downgrade() -> None:
    with op.batch_alter_table('networkservice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failing_tests', sa.Integer(), nullable=False, server_default='0'))
