"""registration ical_sequence: the SEQUENCE of the registrant's one calendar invitation

Revision ID: c5e7a9d3f2b1
Revises: b8f3d2a61c47
Create Date: 2026-12-08 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c5e7a9d3f2b1'
down_revision = 'b8f3d2a61c47'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('ical_sequence', sa.Integer(), server_default='0', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_column('ical_sequence')
