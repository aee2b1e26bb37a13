"""The accreditation migration brings an installed catalogue and stored numbers up to date, so
the back-office can record accreditations before an event file is loaded again."""

from __future__ import annotations

import json

from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from symposium.models import Profession, Register, Registration


def test_an_old_catalogue_and_old_nip_numbers_are_brought_up_to_date(db, register) -> None:
    registration_id = register(1, "psy").registration.id
    db.session.remove()
    downgrade(revision="f98210b83301")
    with db.engine.begin() as conn:  # the catalogue as it was: professions by their numbers
        conn.execute(text("DELETE FROM profession_registers"))
        conn.execute(text("DELETE FROM registers WHERE code IN ('GAIA', 'FGZPT', 'NVP')"))
        big = conn.scalar(text("SELECT id FROM registers WHERE code = 'BIG'"))
        gp = conn.scalar(text("SELECT id FROM professions WHERE code = 'huisarts'"))
        conn.execute(text("INSERT INTO profession_registers VALUES (:p, :r)"), {"p": gp, "r": big})
        conn.execute(text("UPDATE registrations SET identifiers = :i"),
                     {"i": json.dumps({"NIP": "4711", "BIG": "12345678901"})})  # fmt: skip
    upgrade()
    registers = {r.code: r for r in db.session.scalars(select(Register))}
    gaia = registers["GAIA"]
    assert gaia.accredits and gaia.number_registers == ["BIG"] and gaia.big_code == "01"
    assert registers["NIP"].identifier_pattern == "NIP-[0-9]{8}"
    gp = db.session.scalars(select(Profession).where(Profession.code == "huisarts")).one()
    assert [r.code for r in gp.registers] == ["GAIA"]
    stored = db.session.get(Registration, registration_id).identifiers
    assert stored == {"NIP": "NIP-00004711", "BIG": "12345678901"}
