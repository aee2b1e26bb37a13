"""registration privacy: deletion requested, anonymised

Revision ID: a7d2c9e4b1f0
Revises: ff6895596b4c
Create Date: 2026-12-02 01:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7d2c9e4b1f0'
down_revision = 'ff6895596b4c'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('deletion_requested_at', sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')
        batch_op.drop_column('deletion_requested_at')
