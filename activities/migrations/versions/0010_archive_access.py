"""the archive (docs/archive.md): legal holds on archive entries, the access log (archiveaccess) and the purge's
deletion certificates (archivepurge)

Revision ID: 0010
Revises: 0009
Create Date: 2027-03-01
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('archiveentry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('held_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('hold_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))
        batch_op.create_index(batch_op.f('ix_archiveentry_retain_until'), ['retain_until'], unique=False)

    op.create_table(
        'archiveaccess',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('staff_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('results', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('archiveaccess', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_archiveaccess_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_archiveaccess_staff_id'), ['staff_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archiveaccess_target'), ['target'], unique=False)

    op.create_table(
        'archivepurge',
        sa.Column('purge_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('cutoff', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('cases', sa.Integer(), nullable=False),
        sa.Column('workflow_ids', sa.JSON(), nullable=False),
        sa.Column('deleted', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('purge_id'))


def downgrade() -> None:
    op.drop_table('archivepurge')
    with op.batch_alter_table('archiveaccess', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_archiveaccess_target'))
        batch_op.drop_index(batch_op.f('ix_archiveaccess_staff_id'))
        batch_op.drop_index(batch_op.f('ix_archiveaccess_at'))
    op.drop_table('archiveaccess')
    with op.batch_alter_table('archiveentry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_archiveentry_retain_until'))
        batch_op.drop_column('hold_reason')
        batch_op.drop_column('held_by')
        batch_op.drop_column('held_at')
