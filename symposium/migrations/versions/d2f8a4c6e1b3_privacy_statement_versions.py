"""privacy statement per event: the organiser's addition in versions, and the version each
registrant agreed to

Revision ID: d2f8a4c6e1b3
Revises: c4e1b7a9d2f3
Create Date: 2026-12-07 23:20:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd2f8a4c6e1b3'
down_revision = 'c4e1b7a9d2f3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'privacy_additions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('text_nl', sa.Text(), nullable=False),
        sa.Column('text_en', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_privacy_additions_created_by_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_privacy_additions_event_id_events'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_additions')),
        sa.UniqueConstraint('event_id', 'version', name=op.f('uq_privacy_additions_event_id_version')),
    )
    op.create_index(op.f('ix_privacy_additions_event_id'), 'privacy_additions', ['event_id'], unique=False)
    # Plain ADD COLUMN (no table rebuild on SQLite): registrations has dependants.
    op.add_column('events', sa.Column('privacy_addition_version', sa.Integer(), server_default='0', nullable=False))
    op.add_column('registrations', sa.Column('privacy_version', sa.String(length=20), nullable=True))


def downgrade():
    # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild of events or registrations would
    # cascade-delete everything under them, as the app turns foreign keys on.
    op.drop_column('registrations', 'privacy_version')
    op.drop_column('events', 'privacy_addition_version')
    op.drop_index(op.f('ix_privacy_additions_event_id'), table_name='privacy_additions')
    op.drop_table('privacy_additions')
