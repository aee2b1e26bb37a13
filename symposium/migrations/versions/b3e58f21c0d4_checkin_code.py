"""registrations.checkin_code and outbox.qr_code: the ticket

Revision ID: b3e58f21c0d4
Revises: a7c41e0d9b21
Create Date: 2026-12-02 02:45:00

Every registration gets a random check-in code (services.checkin.tickets), unique per
event; existing registrations get one here. A message's HTML part may show one as a QR.
"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b3e58f21c0d4'
down_revision = 'a7c41e0d9b21'
branch_labels = None
depends_on = None

# A copy of services.checkin.tickets at the time of writing (a migration must not change
# when the application does).
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _code():
    return "".join(secrets.choice(ALPHABET) for _ in range(13))


def upgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkin_code', sa.String(length=13), nullable=True))
    registrations = sa.table(
        'registrations',
        sa.column('id', sa.Integer),
        sa.column('event_id', sa.Integer),
        sa.column('checkin_code', sa.String),
    )
    connection = op.get_bind()
    taken = set()
    rows = connection.execute(sa.select(registrations.c.id, registrations.c.event_id)).all()
    for registration_id, event_id in rows:
        code = _code()
        while (event_id, code) in taken:
            code = _code()
        taken.add((event_id, code))
        connection.execute(
            registrations.update()
            .where(registrations.c.id == registration_id)
            .values(checkin_code=code)
        )
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.alter_column('checkin_code', existing_type=sa.String(length=13), nullable=False)
        batch_op.create_unique_constraint(
            batch_op.f('uq_registrations_event_id_checkin_code'), ['event_id', 'checkin_code']
        )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('qr_code', sa.String(length=13), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('qr_code')
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('uq_registrations_event_id_checkin_code'), type_='unique'
        )
        batch_op.drop_column('checkin_code')
