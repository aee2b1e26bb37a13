"""presence per meeting: a group session that meets several times records each meeting

Revision ID: b8f3d2a61c47
Revises: 63da9aaa6520
Create Date: 2026-12-07 20:50:00

A presence of a group session recorded before this revision is matched to the meeting it
was checked in at (the meeting nearest the check-in); one that matches none stays a
presence of the group as a whole.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b8f3d2a61c47'
down_revision = '63da9aaa6520'
branch_labels = None
depends_on = None


def upgrade():
    links = _scan_links()
    with op.batch_alter_table('presences', schema=None) as batch_op:
        batch_op.add_column(sa.Column('meeting_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_presences_meeting_id_meetings'), 'meetings', ['meeting_id'], ['id'],
            ondelete='CASCADE',
        )
        batch_op.create_index(batch_op.f('ix_presences_meeting_id'), ['meeting_id'], unique=False)
        batch_op.drop_index('uq_presences_live', sqlite_where=sa.text('undone_at IS NULL'), postgresql_where=sa.text('undone_at IS NULL'))
    _match_meetings()
    with op.batch_alter_table('presences', schema=None) as batch_op:
        batch_op.create_index(
            'uq_presences_live', ['registration_id', 'session_id'], unique=True,
            sqlite_where=sa.text('undone_at IS NULL AND meeting_id IS NULL'),
            postgresql_where=sa.text('undone_at IS NULL AND meeting_id IS NULL'),
        )
        batch_op.create_index(
            'uq_presences_meeting_live', ['registration_id', 'meeting_id'], unique=True,
            sqlite_where=sa.text('undone_at IS NULL AND meeting_id IS NOT NULL'),
            postgresql_where=sa.text('undone_at IS NULL AND meeting_id IS NOT NULL'),
        )
    _restore_scan_links(links)


def _scan_links():
    """Which scan made which presence: SQLite rebuilds the table to add a foreign key, and
    dropping the old one sets checkin_scans.presence_id to NULL (ON DELETE SET NULL)."""
    rows = op.get_bind().execute(
        sa.text('SELECT id, presence_id FROM checkin_scans WHERE presence_id IS NOT NULL')
    ).all()
    return [{'s': row.id, 'p': row.presence_id} for row in rows]


def _restore_scan_links(links):
    if links:
        op.get_bind().execute(
            sa.text('UPDATE checkin_scans SET presence_id = :p WHERE id = :s'), links
        )


def _match_meetings():
    """Give each earlier presence of a group session the meeting nearest its check-in."""
    conn = op.get_bind()
    meetings = {}
    for row in conn.execute(sa.text('SELECT id, session_id, starts_at FROM meetings')):
        meetings.setdefault(row.session_id, []).append((row.id, _utc(row.starts_at)))
    if not meetings:
        return
    presences = conn.execute(
        sa.text('SELECT id, session_id, checked_in_at FROM presences')
    ).all()
    for row in presences:
        candidates = meetings.get(row.session_id)
        if not candidates:
            continue
        checked_in = _utc(row.checked_in_at)
        nearest = min(candidates, key=lambda m: abs((m[1] - checked_in).total_seconds()))
        if abs((nearest[1] - checked_in).total_seconds()) <= 24 * 3600:
            conn.execute(
                sa.text('UPDATE presences SET meeting_id = :m WHERE id = :p'),
                {'m': nearest[0], 'p': row.id},
            )


def _utc(value):
    """A stored time as an aware UTC datetime (SQLite gives text or naive values)."""
    from datetime import datetime, timezone

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def downgrade():
    links = _scan_links()
    with op.batch_alter_table('presences', schema=None) as batch_op:
        batch_op.drop_index('uq_presences_meeting_live', sqlite_where=sa.text('undone_at IS NULL AND meeting_id IS NOT NULL'), postgresql_where=sa.text('undone_at IS NULL AND meeting_id IS NOT NULL'))
        batch_op.drop_index('uq_presences_live', sqlite_where=sa.text('undone_at IS NULL AND meeting_id IS NULL'), postgresql_where=sa.text('undone_at IS NULL AND meeting_id IS NULL'))
    # Before this revision a person had one live presence per session: keep the first.
    op.execute(
        'UPDATE presences SET undone_at = recorded_at WHERE undone_at IS NULL AND id NOT IN '
        '(SELECT MIN(id) FROM presences WHERE undone_at IS NULL '
        'GROUP BY registration_id, session_id)'
    )
    with op.batch_alter_table('presences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_presences_meeting_id'))
        batch_op.drop_constraint(batch_op.f('fk_presences_meeting_id_meetings'), type_='foreignkey')
        batch_op.drop_column('meeting_id')
        batch_op.create_index('uq_presences_live', ['registration_id', 'session_id'], unique=True, sqlite_where=sa.text('undone_at IS NULL'), postgresql_where=sa.text('undone_at IS NULL'))
    _restore_scan_links(links)
