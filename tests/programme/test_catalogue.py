import re

from sqlalchemy import func, select

from symposium.models import Profession, Register, Theme
from symposium.services.programme.catalogue import ensure_catalogue


def test_professions_of_the_7roses_audience_plus_other(db) -> None:
    codes = db.session.scalars(select(Profession.code).order_by(Profession.position)).all()
    assert len(codes) == 12
    assert codes[-1] == "overig"
    assert {"psychiater", "gz-psycholoog", "huisarts", "spv", "ergotherapeut"} <= set(codes)


def test_professions_know_the_registers_that_accredit_them_and_their_numbers(db) -> None:
    registers = {r.code: r for r in db.session.scalars(select(Register))}
    gp = db.session.scalars(select(Profession).where(Profession.code == "huisarts")).one()
    (gaia,) = gp.registers
    assert gaia.code == "GAIA" and gaia.accredits and gaia.number_registers == ["BIG"]
    assert gaia.number_required and gaia.big_code == "01"
    big = registers["BIG"]
    assert not big.accredits and big.several
    assert big.identifier_name("nl") == "BIG-nummer"
    assert re.fullmatch(big.identifier_pattern, "19012345601")
    assert not re.fullmatch(big.identifier_pattern, "1901234560")
    social = db.session.scalars(
        select(Profession).where(Profession.code == "maatschappelijk-werker")
    ).one()
    assert [r.code for r in social.registers] == ["REGISTERPLEIN"]
    # The registers the issue names, each accrediting by a number someone can give.
    accrediting = {c for c, r in registers.items() if r.accredits}
    assert accrediting == {"GAIA", "FGZPT", "NVP", "NIP", "REGISTERPLEIN", "VENVN", "KNGF", "KRP"}
    for code in accrediting:
        assert all(registers[n].identifier_name_nl for n in registers[code].number_registers)


def test_themes_are_chime_rs_and_welzijn_op_recept(db) -> None:
    families = dict(
        db.session.execute(select(Theme.family, func.count()).group_by(Theme.family)).all()
    )
    assert families == {"chime-rs": 7, "welzijn": 16}


def test_catalogue_can_be_written_again_without_changes(db) -> None:
    before = db.session.scalar(select(func.count()).select_from(Register))
    ensure_catalogue(db.session)
    assert not db.session.dirty and not db.session.new
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Register)) == before
