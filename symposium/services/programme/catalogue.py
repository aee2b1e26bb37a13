"""The profession, register and theme catalogue, kept in code and written idempotently."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.models import Profession, Register, Theme

# code: (name, identifier nl, identifier en, pattern, hint nl, hint en)
REGISTERS: dict[str, tuple[str, str, str, str | None, str, str]] = {
    "BIG": (
        "BIG-register",
        "BIG-nummer",
        "BIG number",
        r"\d{11}",
        "11 cijfers, zoals vermeld in het BIG-register.",
        "11 digits, as listed in the BIG register.",
    ),
    "NIP": (
        "Nederlands Instituut van Psychologen (NIP)",
        "NIP-lidnummer",
        "NIP membership number",
        None,
        "Uw lidnummer bij het NIP.",
        "Your NIP membership number.",
    ),
    "REGISTERPLEIN": (
        "Registerplein",
        "Registratienummer Registerplein",
        "Registerplein registration number",
        None,
        "Uw registratienummer bij Registerplein.",
        "Your Registerplein registration number.",
    ),
    "VENVN": (
        "V&VN Kwaliteitsregister",
        "Registratienummer Kwaliteitsregister V&VN",
        "V&VN quality register number",
        None,
        "Uw registratienummer in het Kwaliteitsregister V&VN.",
        "Your number in the V&VN quality register.",
    ),
    "KNGF": (
        "KNGF / Kwaliteitsregister Fysiotherapie",
        "KNGF-lidnummer",
        "KNGF membership number",
        None,
        "Uw lidnummer bij het KNGF.",
        "Your KNGF membership number.",
    ),
    "KRP": (
        "Kwaliteitsregister Paramedici",
        "Registratienummer Kwaliteitsregister Paramedici",
        "Paramedics quality register number",
        None,
        "Uw registratienummer in het Kwaliteitsregister Paramedici.",
        "Your number in the paramedics quality register.",
    ),
}

# The eleven professions named in the 7ROSES audience, plus "other": (code, nl, en, registers).
PROFESSIONS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("psychiater", "Psychiater", "Psychiatrist", ("BIG",)),
    ("gz-psycholoog", "GZ-psycholoog", "Healthcare psychologist (GZ)", ("BIG", "NIP")),
    ("klinisch-psycholoog", "Klinisch psycholoog (KP)", "Clinical psychologist", ("BIG", "NIP")),
    ("basispsycholoog", "Basispsycholoog", "Psychologist (basic)", ("NIP",)),
    ("psychotherapeut", "Psychotherapeut", "Psychotherapist", ("BIG",)),
    ("maatschappelijk-werker", "Maatschappelijk werker", "Social worker", ("REGISTERPLEIN",)),
    (
        "spv",
        "Sociaal psychiatrisch verpleegkundige (SPV)",
        "Community psychiatric nurse (SPV)",
        ("BIG", "VENVN"),
    ),
    ("verpleegkundige", "Verpleegkundige", "Nurse", ("BIG", "VENVN")),
    ("huisarts", "Huisarts", "General practitioner", ("BIG",)),
    ("fysiotherapeut", "Fysiotherapeut", "Physiotherapist", ("BIG", "KNGF")),
    ("ergotherapeut", "Ergotherapeut", "Occupational therapist", ("KRP",)),
    ("overig", "Overig", "Other", ()),
]

# (code, family, nl, en)
THEMES: list[tuple[str, str, str, str]] = [
    # CHIME (Leamy et al., 2011) plus Safety and Recognition: the 7ROSES pillars.
    ("connectedness", "chime-rs", "Verbondenheid", "Connectedness"),
    ("hope", "chime-rs", "Hoop", "Hope"),
    ("identity", "chime-rs", "Identiteit", "Identity"),
    ("meaning", "chime-rs", "Betekenisgeving", "Meaning"),
    ("empowerment", "chime-rs", "Empowerment", "Empowerment"),
    ("safety", "chime-rs", "Veiligheid", "Safety"),
    ("recognition", "chime-rs", "Erkenning", "Recognition"),
    # The sixteen themes of Stichting Rumi's "Welzijn op recept".
    (
        "armoede",
        "welzijn",
        "Armoede en financiële zelfredzaamheid",
        "Poverty and financial self-reliance",
    ),
    ("digitale-samenleving", "welzijn", "Digitale samenleving", "Digital society"),
    ("discriminatie", "welzijn", "Discriminatie", "Discrimination"),
    (
        "zelfredzaamheid",
        "welzijn",
        "Zelfregie en zelfredzaamheid",
        "Self-direction and self-reliance",
    ),
    ("eenzaamheid", "welzijn", "Eenzaamheid", "Loneliness"),
    ("eigen-regie", "welzijn", "Eigen regie", "Being in charge of one's own life"),
    ("huiselijk-geweld", "welzijn", "Huiselijk en seksueel geweld", "Domestic and sexual violence"),
    ("inclusie", "welzijn", "Inclusie en diversiteit", "Inclusion and diversity"),
    ("informele-zorg", "welzijn", "(Informele) zorg", "(Informal) care"),
    ("ouderen-jongeren", "welzijn", "Ouderen en jongvolwassenen", "Older people and young adults"),
    ("kunst", "welzijn", "Kunst in zorg en welzijn", "Art in care and welfare"),
    ("maatschappelijke-zorg", "welzijn", "Maatschappelijke zorg", "Social care"),
    ("sociale-basis", "welzijn", "Versterken sociale basis", "Strengthening the social base"),
    (
        "gemeente-instanties",
        "welzijn",
        "De weg naar gemeente en instanties",
        "Finding the way to the municipality and agencies",
    ),
    ("taal", "welzijn", "Taal(ondersteuning)", "Language (support)"),
    ("criminaliteit", "welzijn", "Criminaliteit", "Crime"),
]


def ensure_catalogue(db: DbSession) -> None:
    """Insert or update the catalogue so event files can refer to codes; safe to repeat."""
    registers = {r.code: r for r in db.scalars(select(Register))}
    for code, (name, id_nl, id_en, pattern, hint_nl, hint_en) in REGISTERS.items():
        register = registers.get(code) or Register(code=code)
        _assign(
            register,
            name=name,
            identifier_name_nl=id_nl,
            identifier_name_en=id_en,
            identifier_pattern=pattern,
            identifier_hint_nl=hint_nl,
            identifier_hint_en=hint_en,
        )
        if register.id is None:
            db.add(register)
        registers[code] = register

    professions = {p.code: p for p in db.scalars(select(Profession))}
    for position, (code, name_nl, name_en, register_codes) in enumerate(PROFESSIONS):
        profession = professions.get(code) or Profession(code=code)
        _assign(profession, name_nl=name_nl, name_en=name_en, position=position)
        wanted = [registers[c] for c in register_codes]
        if list(profession.registers) != wanted:
            profession.registers = wanted
        if profession.id is None:
            db.add(profession)

    themes = {t.code: t for t in db.scalars(select(Theme))}
    for position, (code, family, name_nl, name_en) in enumerate(THEMES):
        theme = themes.get(code) or Theme(code=code)
        _assign(theme, family=family, name_nl=name_nl, name_en=name_en, position=position)
        if theme.id is None:
            db.add(theme)
    db.flush()


def _assign(obj: object, **values: object) -> None:
    """Set only what differs, so an unchanged catalogue issues no UPDATE."""
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
