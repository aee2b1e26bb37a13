"""The profession, register and theme catalogue, kept in code and written idempotently."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from symposium.models import Profession, Register, Theme


@dataclass(frozen=True)
class RegisterSpec:
    """A register as the catalogue knows it (see ``models.Register`` for what each means)."""

    name: str
    short_name: str
    # The number it issues itself: (name nl, name en, pattern, hint nl, hint en).
    number: tuple[str, str, str | None, str, str] | None = None
    accredits: bool = False
    number_registers: tuple[str, ...] = ()
    number_required: bool = False
    big_code: str | None = None
    several: bool = False


# Sources: ../shared/reference/accreditation.md (sections 1 and 2). Formats not published
# (KRP) are not checked beyond length and characters.
REGISTERS: dict[str, RegisterSpec] = {
    "BIG": RegisterSpec(
        "BIG-register",
        "BIG",
        ("BIG-nummer", "BIG number", r"[0-9]{11}",
         "11 cijfers, zoals vermeld in het BIG-register. Twee BIG-nummers? Scheid ze met een "
         "komma.",
         "11 digits, as listed in the BIG register. Two BIG numbers? Separate them with a "
         "comma."),
        several=True,
    ),
    "GAIA": RegisterSpec(
        "GAIA (KNMG) – accreditatie voor artsen",
        "GAIA",
        accredits=True, number_registers=("BIG",), number_required=True, big_code="01",
    ),
    "FGZPT": RegisterSpec(
        "FGzPt – specialistenregisters (KP)",
        "FGzPt",
        accredits=True, number_registers=("BIG",), number_required=True, big_code="25",
    ),
    "NVP": RegisterSpec(
        "NVP Kwaliteitsregister Psychotherapie",
        "NVP",
        accredits=True, number_registers=("BIG",), big_code="16",
    ),
    "NIP": RegisterSpec(
        "Nederlands Instituut van Psychologen (NIP)",
        "NIP",
        ("NIP-lidnummer", "NIP membership number", r"NIP-[0-9]{8}",
         "NIP- gevolgd door 8 cijfers, zoals NIP-00123456.",
         "NIP- followed by 8 digits, such as NIP-00123456."),
        accredits=True, number_registers=("NIP",),
    ),
    "REGISTERPLEIN": RegisterSpec(
        "Registerplein",
        "Registerplein",
        ("Registratienummer Registerplein", "Registerplein registration number",
         r"4610[0-9]{2,8}",
         "Uw registratienummer bij Registerplein; het begint met 4610.",
         "Your Registerplein registration number; it starts with 4610."),
        accredits=True, number_registers=("REGISTERPLEIN",),
    ),
    "VENVN": RegisterSpec(
        "V&VN Kwaliteitsregister",
        "V&VN",
        ("Relatienummer V&VN", "V&VN relation number", r"[0-9]{6}",
         "Uw relatienummer bij V&VN: 6 cijfers. Of vul uw BIG-nummer in.",
         "Your V&VN relation number: 6 digits. Or give your BIG number."),
        accredits=True, number_registers=("VENVN", "BIG"), big_code="30",
    ),
    "KNGF": RegisterSpec(
        "Kwaliteitshuis Fysiotherapie (KNGF)",
        "KNGF",
        accredits=True, number_registers=("BIG",), big_code="04",
    ),
    "KRP": RegisterSpec(
        "Kwaliteitsregister Paramedici",
        "KRP",
        ("Registratienummer Kwaliteitsregister Paramedici",
         "Paramedics quality register number", None,
         "Uw registratienummer in het Kwaliteitsregister Paramedici.",
         "Your number in the paramedics quality register."),
        accredits=True, number_registers=("KRP",),
    ),
}  # fmt: skip

# The eleven professions named in the 7ROSES audience, plus "other": (code, nl, en, the
# registers that accredit their points).
PROFESSIONS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("psychiater", "Psychiater", "Psychiatrist", ("GAIA",)),
    ("gz-psycholoog", "GZ-psycholoog", "Healthcare psychologist (GZ)", ("NIP",)),
    ("klinisch-psycholoog", "Klinisch psycholoog (KP)", "Clinical psychologist",
     ("FGZPT", "NIP")),
    ("basispsycholoog", "Basispsycholoog", "Psychologist (basic)", ("NIP",)),
    ("psychotherapeut", "Psychotherapeut", "Psychotherapist", ("NVP",)),
    ("maatschappelijk-werker", "Maatschappelijk werker", "Social worker", ("REGISTERPLEIN",)),
    ("spv", "Sociaal psychiatrisch verpleegkundige (SPV)", "Community psychiatric nurse (SPV)",
     ("VENVN",)),
    ("verpleegkundige", "Verpleegkundige", "Nurse", ("VENVN",)),
    ("huisarts", "Huisarts", "General practitioner", ("GAIA",)),
    ("fysiotherapeut", "Fysiotherapeut", "Physiotherapist", ("KNGF",)),
    ("ergotherapeut", "Ergotherapeut", "Occupational therapist", ("KRP",)),
    ("overig", "Overig", "Other", ()),
]  # fmt: skip

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
    for code, spec in REGISTERS.items():
        register = registers.get(code) or Register(code=code)
        id_nl, id_en, pattern, hint_nl, hint_en = spec.number or ("", "", None, "", "")
        _assign(
            register,
            name=spec.name,
            short_name=spec.short_name,
            identifier_name_nl=id_nl,
            identifier_name_en=id_en,
            identifier_pattern=pattern,
            identifier_hint_nl=hint_nl,
            identifier_hint_en=hint_en,
            accredits=spec.accredits,
            number_registers=list(spec.number_registers),
            number_required=spec.number_required,
            big_code=spec.big_code,
            several=spec.several,
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
