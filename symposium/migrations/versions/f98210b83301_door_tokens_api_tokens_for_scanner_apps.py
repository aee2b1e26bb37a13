"""door_tokens: API tokens for scanner apps

Revision ID: f98210b83301
Revises: 9a9aa36bae59
Create Date: 2026-12-03 12:15:38

A scanner app at one event's door signs its API calls with a token made for a door account;
only the token's SHA-256 is stored.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f98210b83301'
down_revision = '9a9aa36bae59'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('door_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_door_tokens_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_door_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_door_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_door_tokens_token_hash'))
    )
    with op.batch_alter_table('door_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_door_tokens_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_door_tokens_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('door_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_door_tokens_user_id'))
        batch_op.drop_index(batch_op.f('ix_door_tokens_event_id'))

    op.drop_table('door_tokens')
