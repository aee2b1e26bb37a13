"""event branding: an accent colour per event, and its logo in a table of its own

Revision ID: c4e1b7a9d2f3
Revises: b8f3d2a61c47
Create Date: 2026-12-09 10:00:00

The logo's bytes live in the database (not in a folder of one host), so every app host
serves them and every worker prints them; in their own table so that reading an event
never reads an image.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e1b7a9d2f3'
down_revision = 'b8f3d2a61c47'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('event_logos',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=20), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_logos_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_event_logos'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accent_colour', sa.String(length=7), server_default='', nullable=False))


def downgrade():
    op.drop_table('event_logos')
    # Not in batch mode: on SQLite that rebuilds "events", and dropping the old table with
    # foreign keys on deletes every row that refers to it (sessions, registrations …).
    # SQLite drops a column itself since 3.35.
    op.drop_column('events', 'accent_colour')
