"""outbox maybe_sent: attempts cut off between the message and the server's reply

Revision ID: a7d41c2e9b10
Revises: a7d2c9e4b1f0
Create Date: 2026-12-02 01:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7d41c2e9b10'
down_revision = 'a7d2c9e4b1f0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('maybe_sent', sa.Integer(), server_default='0', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('maybe_sent')
