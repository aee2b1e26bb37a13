"""presences and checkin_scans: who was in which session, and every scan under its client id

Revision ID: 9a9aa36bae59
Revises: b3e58f21c0d4
Create Date: 2026-12-02 06:00:21

A presence is one person in one session (check-in, optional check-out, undone ones kept);
a checkin_scans row keeps each scan's client id once per event, so replays count once.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9a9aa36bae59'
down_revision = 'b3e58f21c0d4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('presences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=True),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('checked_in_by_id', sa.Integer(), nullable=True),
    sa.Column('checked_in_via', sa.Enum('scan', 'typed', 'search', 'paper', 'walk_in', 'end', 'api', name='via', native_enum=False, length=20), nullable=False),
    sa.Column('admitted_anyway', sa.Boolean(), nullable=False),
    sa.Column('checked_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_out_by_id', sa.Integer(), nullable=True),
    sa.Column('checked_out_via', sa.Enum('scan', 'typed', 'search', 'paper', 'walk_in', 'end', 'api', name='via', native_enum=False, length=20), nullable=True),
    sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('undone_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['checked_in_by_id'], ['users.id'], name=op.f('fk_presences_checked_in_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['checked_out_by_id'], ['users.id'], name=op.f('fk_presences_checked_out_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_presences_enrolment_id_enrolments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_presences_registration_id_registrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_presences_session_id_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['undone_by_id'], ['users.id'], name=op.f('fk_presences_undone_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_presences'))
    )
    with op.batch_alter_table('presences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_presences_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_presences_session_id'), ['session_id'], unique=False)
        batch_op.create_index('uq_presences_live', ['registration_id', 'session_id'], unique=True, sqlite_where=sa.text('undone_at IS NULL'), postgresql_where=sa.text('undone_at IS NULL'))

    op.create_table('checkin_scans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=True),
    sa.Column('presence_id', sa.Integer(), nullable=True),
    sa.Column('verdict', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_checkin_scans_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['presence_id'], ['presences.id'], name=op.f('fk_checkin_scans_presence_id_presences'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_checkin_scans_registration_id_registrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_checkin_scans_session_id_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_checkin_scans_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_scans')),
    sa.UniqueConstraint('event_id', 'client_id', name=op.f('uq_checkin_scans_event_id_client_id'))
    )
    with op.batch_alter_table('checkin_scans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_scans_registration_id'), ['registration_id'], unique=False)



def downgrade():
    with op.batch_alter_table('checkin_scans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkin_scans_registration_id'))

    op.drop_table('checkin_scans')
    with op.batch_alter_table('presences', schema=None) as batch_op:
        batch_op.drop_index('uq_presences_live', sqlite_where=sa.text('undone_at IS NULL'), postgresql_where=sa.text('undone_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_presences_session_id'))
        batch_op.drop_index(batch_op.f('ix_presences_registration_id'))

    op.drop_table('presences')
