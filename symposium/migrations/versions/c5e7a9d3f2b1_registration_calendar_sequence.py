"""registration ical_sequence: the SEQUENCE of the registrant's one calendar invitation

Revision ID: c5e7a9d3f2b1
Revises: e7a3c5f1b8d4
Create Date: 2026-12-08 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c5e7a9d3f2b1'
down_revision = 'e7a3c5f1b8d4'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN: a batch rebuild of registrations would cascade-delete its enrolments.
    op.add_column(
        'registrations',
        sa.Column('ical_sequence', sa.Integer(), server_default='0', nullable=False),
    )


def downgrade():
    op.drop_column('registrations', 'ical_sequence')
