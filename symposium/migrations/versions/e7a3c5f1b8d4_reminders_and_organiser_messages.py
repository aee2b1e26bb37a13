"""reminders and organiser messages: the days before an event a reminder goes, its practical
information, organiser messages sent in bulk, and who unsubscribed from them

Revision ID: e7a3c5f1b8d4
Revises: d2f8a4c6e1b3
Create Date: 2026-12-07 23:40:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e7a3c5f1b8d4'
down_revision = 'd2f8a4c6e1b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'organiser_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=True),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('recipients', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_organiser_messages_created_by_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_organiser_messages_event_id_events'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_organiser_messages_session_id_sessions'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_organiser_messages')),
        sa.UniqueConstraint('key', name=op.f('uq_organiser_messages_key')),
    )
    op.create_index(op.f('ix_organiser_messages_event_id'), 'organiser_messages', ['event_id'], unique=False)
    # Plain ADD COLUMN (no table rebuild on SQLite): these tables have dependants.
    op.add_column('events', sa.Column('reminder_days', sa.Integer(), server_default='2', nullable=False))
    op.add_column('events', sa.Column('practical_info', sa.Text(), server_default='', nullable=False))
    op.add_column('events', sa.Column('reminders_queued_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('registrations', sa.Column('unsubscribed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('outbox', sa.Column('list_unsubscribe', sa.String(length=500), server_default='', nullable=False))


def downgrade():
    # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild of events or registrations would
    # cascade-delete everything under them, as the app turns foreign keys on.
    op.drop_column('outbox', 'list_unsubscribe')
    op.drop_column('registrations', 'unsubscribed_at')
    op.drop_column('events', 'reminders_queued_at')
    op.drop_column('events', 'practical_info')
    op.drop_column('events', 'reminder_days')
    op.drop_index(op.f('ix_organiser_messages_event_id'), table_name='organiser_messages')
    op.drop_table('organiser_messages')
