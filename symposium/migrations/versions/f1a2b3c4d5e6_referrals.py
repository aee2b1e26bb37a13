"""referrals: series events, referrals to a series with their history, and mail about them

Revision ID: f1a2b3c4d5e6
Revises: c5e7a9d3f2b1
Create Date: 2026-12-14 10:00:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f1a2b3c4d5e6'
down_revision = 'c5e7a9d3f2b1'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no table rebuild on SQLite): events has dependants.
    op.add_column('events', sa.Column('kind', sa.Enum('symposium', 'series', name='eventkind', native_enum=False, length=20), server_default='symposium', nullable=False))
    op.add_column('events', sa.Column('referral_retention_months', sa.Integer(), server_default='12', nullable=False))
    op.create_table(
        'referrals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('reference', sa.String(length=30), nullable=False),
        sa.Column('submission_key', sa.String(length=64), nullable=True),
        sa.Column('referred_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('language', sa.String(length=5), nullable=False),
        sa.Column('referrer_name', sa.String(length=200), nullable=False),
        sa.Column('referrer_organisation', sa.String(length=200), nullable=False),
        sa.Column('referrer_profession', sa.String(length=40), nullable=False),
        sa.Column('referrer_email', sa.String(length=254), nullable=False),
        sa.Column('referrer_phone', sa.String(length=40), nullable=False),
        sa.Column('agb_code', sa.String(length=8), nullable=False),
        sa.Column('client_name', sa.String(length=100), nullable=False),
        sa.Column('client_phone', sa.String(length=40), nullable=False),
        sa.Column('client_email', sa.String(length=254), nullable=False),
        sa.Column('client_language', sa.String(length=20), nullable=False),
        sa.Column('themes', sa.JSON(), nullable=False),
        sa.Column('need', sa.Text(), nullable=False),
        sa.Column('feedback_consent', sa.Boolean(), nullable=False),
        sa.Column('state', sa.Enum('new', 'contacted', 'intake_done', 'placed', 'waiting', 'declined', 'closed', name='referralstate', native_enum=False, length=20), nullable=False),
        sa.Column('state_changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=True),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_referrals_event_id_events'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['group_id'], ['sessions.id'], name=op.f('fk_referrals_group_id_sessions'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals')),
        sa.UniqueConstraint('event_id', 'number', name=op.f('uq_referrals_event_id_number')),
        sa.UniqueConstraint('event_id', 'submission_key', name=op.f('uq_referrals_event_id_submission_key')),
    )
    op.create_index(op.f('ix_referrals_event_id'), 'referrals', ['event_id'], unique=False)
    op.create_index(op.f('ix_referrals_group_id'), 'referrals', ['group_id'], unique=False)
    op.create_table(
        'referral_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('referral_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('from_state', sa.Enum('new', 'contacted', 'intake_done', 'placed', 'waiting', 'declined', 'closed', name='referralstate', native_enum=False, length=20), nullable=True),
        sa.Column('to_state', sa.Enum('new', 'contacted', 'intake_done', 'placed', 'waiting', 'declined', 'closed', name='referralstate', native_enum=False, length=20), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_referral_changes_referral_id_referrals'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_referral_changes_user_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_changes')),
    )
    op.create_index(op.f('ix_referral_changes_referral_id'), 'referral_changes', ['referral_id'], unique=False)
    # The outbox has no dependants, so its rebuild on SQLite (for the foreign key) is safe.
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('referral_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_outbox_referral_id_referrals'), 'referrals', ['referral_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index(batch_op.f('ix_outbox_referral_id'), ['referral_id'], unique=False)


def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_referral_id'))
        batch_op.drop_constraint(batch_op.f('fk_outbox_referral_id_referrals'), type_='foreignkey')
        batch_op.drop_column('referral_id')
    op.drop_index(op.f('ix_referral_changes_referral_id'), table_name='referral_changes')
    op.drop_table('referral_changes')
    op.drop_index(op.f('ix_referrals_group_id'), table_name='referrals')
    op.drop_index(op.f('ix_referrals_event_id'), table_name='referrals')
    op.drop_table('referrals')
    # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild of events would cascade-delete
    # everything under it, as the app turns foreign keys on.
    op.drop_column('events', 'referral_retention_months')
    op.drop_column('events', 'kind')
