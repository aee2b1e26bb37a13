"""accreditation: registers per event, points per session, overrides, exported lists

Revision ID: a4e9159fe0e3
Revises: f98210b83301
Create Date: 2026-12-03 14:17:41

Registers learn whether they accredit and by whose numbers; events get the tolerances of
full attendance (10 minutes each unless set). An existing catalogue is brought to this
revision's (the accrediting registers GAIA, FGzPt and NVP, professions linked to the
registers that accredit them, the number formats), so the back-office can record
accreditations before any event file is loaded again; the full texts follow with the next
load (services/programme/catalogue.py). Stored NIP numbers get the register's form.
"""
import re

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a4e9159fe0e3'
down_revision = 'f98210b83301'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('accreditations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('register_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.String(length=200), nullable=False),
    sa.Column('activity_id', sa.String(length=60), nullable=False),
    sa.Column('scope', sa.Enum('session', 'event', name='scope', native_enum=False, length=20), nullable=False),
    sa.Column('daily_cap', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('rounding', sa.Enum('none', 'half', 'whole', name='rounding', native_enum=False, length=20), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint('daily_cap IS NULL OR daily_cap > 0', name=op.f('ck_accreditations_daily_cap_positive')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_accreditations_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['register_id'], ['registers.id'], name=op.f('fk_accreditations_register_id_registers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accreditations')),
    sa.UniqueConstraint('event_id', 'register_id', name=op.f('uq_accreditations_event_id_register_id'))
    )
    with op.batch_alter_table('accreditations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accreditations_event_id'), ['event_id'], unique=False)

    op.create_table('list_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('accreditation_id', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=10), nullable=False),
    sa.Column('day', sa.Date(), nullable=True),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['accreditation_id'], ['accreditations.id'], name=op.f('fk_list_exports_accreditation_id_accreditations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_list_exports_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_list_exports'))
    )
    with op.batch_alter_table('list_exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_list_exports_accreditation_id'), ['accreditation_id'], unique=False)

    op.create_table('points_overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('accreditation_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('points >= 0', name=op.f('ck_points_overrides_points_not_negative')),
    sa.ForeignKeyConstraint(['accreditation_id'], ['accreditations.id'], name=op.f('fk_points_overrides_accreditation_id_accreditations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_points_overrides_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_points_overrides_registration_id_registrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_overrides')),
    sa.UniqueConstraint('registration_id', 'accreditation_id', name=op.f('uq_points_overrides_registration_id_accreditation_id'))
    )
    with op.batch_alter_table('points_overrides', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_points_overrides_accreditation_id'), ['accreditation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_points_overrides_registration_id'), ['registration_id'], unique=False)

    op.create_table('accredited_sessions',
    sa.Column('accreditation_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.CheckConstraint('points >= 0', name=op.f('ck_accredited_sessions_points_not_negative')),
    sa.ForeignKeyConstraint(['accreditation_id'], ['accreditations.id'], name=op.f('fk_accredited_sessions_accreditation_id_accreditations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_accredited_sessions_session_id_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('accreditation_id', 'session_id', name=op.f('pk_accredited_sessions'))
    )
    with op.batch_alter_table('accredited_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accredited_sessions_session_id'), ['session_id'], unique=False)

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('late_tolerance_minutes', sa.Integer(), server_default='10', nullable=False))
        batch_op.add_column(sa.Column('early_tolerance_minutes', sa.Integer(), server_default='10', nullable=False))

    with op.batch_alter_table('registers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('short_name', sa.String(length=40), server_default='', nullable=False))
        batch_op.add_column(sa.Column('accredits', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('number_registers', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('number_required', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('big_code', sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column('several', sa.Boolean(), server_default=sa.false(), nullable=False))

    _catalogue()


# This revision's catalogue, as data (a migration must not import the models of a later one):
# code: (short name, accredits, number registers, number required, BIG code, several, pattern)
REGISTERS = {
    "BIG": ("BIG", False, [], False, None, True, r"[0-9]{11}"),
    "GAIA": ("GAIA", True, ["BIG"], True, "01", False, None),
    "FGZPT": ("FGzPt", True, ["BIG"], True, "25", False, None),
    "NVP": ("NVP", True, ["BIG"], False, "16", False, None),
    "NIP": ("NIP", True, ["NIP"], False, None, False, r"NIP-[0-9]{8}"),
    "REGISTERPLEIN": ("Registerplein", True, ["REGISTERPLEIN"], False, None, False,
                      r"4610[0-9]{2,8}"),
    "VENVN": ("V&VN", True, ["VENVN", "BIG"], False, "30", False, r"[0-9]{6}"),
    "KNGF": ("KNGF", True, ["BIG"], False, "04", False, None),
    "KRP": ("KRP", True, ["KRP"], False, None, False, None),
}
NAMES = {"GAIA": "GAIA (KNMG) – accreditatie voor artsen",
         "FGZPT": "FGzPt – specialistenregisters (KP)",
         "NVP": "NVP Kwaliteitsregister Psychotherapie"}
PROFESSIONS = {
    "psychiater": ["GAIA"], "gz-psycholoog": ["NIP"], "klinisch-psycholoog": ["FGZPT", "NIP"],
    "basispsycholoog": ["NIP"], "psychotherapeut": ["NVP"],
    "maatschappelijk-werker": ["REGISTERPLEIN"], "spv": ["VENVN"], "verpleegkundige": ["VENVN"],
    "huisarts": ["GAIA"], "fysiotherapeut": ["KNGF"], "ergotherapeut": ["KRP"],
}


def _catalogue():
    """Only where a catalogue exists: a new database gets it from the app."""
    conn = op.get_bind()
    registers = sa.table(
        'registers', sa.column('id', sa.Integer), sa.column('code', sa.String),
        sa.column('name', sa.String), sa.column('short_name', sa.String),
        sa.column('identifier_name_nl', sa.String), sa.column('identifier_name_en', sa.String),
        sa.column('identifier_pattern', sa.String), sa.column('identifier_hint_nl', sa.Text),
        sa.column('identifier_hint_en', sa.Text), sa.column('accredits', sa.Boolean),
        sa.column('number_registers', sa.JSON), sa.column('number_required', sa.Boolean),
        sa.column('big_code', sa.String), sa.column('several', sa.Boolean),
    )
    existing = dict(conn.execute(sa.select(registers.c.code, registers.c.id)).all())
    if not existing:
        return
    for code, (short, accredits, numbers, required, big, several, pattern) in REGISTERS.items():
        values = dict(short_name=short, accredits=accredits, number_registers=numbers,
                      number_required=required, big_code=big, several=several,
                      identifier_pattern=pattern)
        if code in existing:
            conn.execute(registers.update().where(registers.c.code == code).values(**values))
        else:
            conn.execute(registers.insert().values(
                code=code, name=NAMES[code], identifier_name_nl='', identifier_name_en='',
                identifier_hint_nl='', identifier_hint_en='', **values))
    ids = dict(conn.execute(sa.select(registers.c.code, registers.c.id)).all())
    professions = sa.table('professions', sa.column('id', sa.Integer), sa.column('code', sa.String))
    links = sa.table('profession_registers', sa.column('profession_id', sa.Integer),
                     sa.column('register_id', sa.Integer))
    for profession_id, code in conn.execute(sa.select(professions.c.id, professions.c.code)):
        conn.execute(links.delete().where(links.c.profession_id == profession_id))
        for register in PROFESSIONS.get(code, []):
            conn.execute(links.insert().values(profession_id=profession_id,
                                               register_id=ids[register]))
    people = sa.table('registrations', sa.column('id', sa.Integer),
                      sa.column('identifiers', sa.JSON))
    for registration_id, identifiers in conn.execute(sa.select(people.c.id, people.c.identifiers)):
        nip = (identifiers or {}).get('NIP', '')
        digits = re.sub(r'(?i)^NIP[-:]?|[\s.]', '', nip)
        if nip and re.fullmatch(r'[0-9]{4,8}', digits) and nip != f'NIP-{digits.zfill(8)}':
            conn.execute(people.update().where(people.c.id == registration_id).values(
                identifiers={**identifiers, 'NIP': f'NIP-{digits.zfill(8)}'}))


def downgrade():
    with op.batch_alter_table('accredited_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accredited_sessions_session_id'))

    op.drop_table('accredited_sessions')
    with op.batch_alter_table('points_overrides', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_points_overrides_registration_id'))
        batch_op.drop_index(batch_op.f('ix_points_overrides_accreditation_id'))

    op.drop_table('points_overrides')
    with op.batch_alter_table('list_exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_list_exports_accreditation_id'))

    op.drop_table('list_exports')
    with op.batch_alter_table('accreditations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accreditations_event_id'))

    op.drop_table('accreditations')

    # Plain DROP COLUMN (SQLite 3.35+): a batch copy would drop and recreate the tables,
    # and with foreign keys on, dropping events or registers cascades to what refers to them.
    for table, column in (
        ('registers', 'several'), ('registers', 'big_code'), ('registers', 'number_required'),
        ('registers', 'number_registers'), ('registers', 'accredits'), ('registers', 'short_name'),
        ('events', 'early_tolerance_minutes'), ('events', 'late_tolerance_minutes'),
    ):
        op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
