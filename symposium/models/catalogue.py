"""Reference data: professions, the registers that accredit them, and programme themes."""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from symposium.models.base import Base

profession_registers = Table(
    "profession_registers",
    Base.metadata,
    Column("profession_id", ForeignKey("professions.id", ondelete="CASCADE"), primary_key=True),
    Column("register_id", ForeignKey("registers.id", ondelete="CASCADE"), primary_key=True),
)


class Register(Base):
    """A professional register: one that issues numbers (BIG), one that accredits activities
    (GAIA), or both (NIP, Registerplein).

    An accrediting register takes attendance by the numbers of ``number_registers``: GAIA
    by BIG number, NIP by its own. The identifier columns describe the number a register
    issues itself and are empty for one that issues none. Numbers are checked and
    normalised in ``services.accreditation.numbers``.
    """

    __tablename__ = "registers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # As the programme and lists name it: "GAIA", "Registerplein", "V&VN".
    short_name: Mapped[str] = mapped_column(String(40), default="")
    identifier_name_nl: Mapped[str] = mapped_column(String(100))
    identifier_name_en: Mapped[str] = mapped_column(String(100))
    # Regular expression a well-formed identifier matches in full; None when the format
    # is not published and cannot be verified.
    identifier_pattern: Mapped[str | None] = mapped_column(String(200))
    identifier_hint_nl: Mapped[str] = mapped_column(Text, default="")
    identifier_hint_en: Mapped[str] = mapped_column(Text, default="")
    # Whether it accredits activities (points are entered with it), and by whose numbers.
    accredits: Mapped[bool] = mapped_column(default=False)
    number_registers: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Points with it need a number: a registrant of its professions must give one.
    number_required: Mapped[bool] = mapped_column(default=False)
    # The profession code that ends the BIG numbers of the people it registers ("01": arts).
    big_code: Mapped[str | None] = mapped_column(String(2))
    # Whether one person may hold several of its numbers (two BIG professions).
    several: Mapped[bool] = mapped_column(default=False)

    def identifier_name(self, locale: str) -> str:
        return self.identifier_name_en if locale == "en" else self.identifier_name_nl


class Profession(Base):
    __tablename__ = "professions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_nl: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)
    # The registers that accredit this profession's points (GAIA for a GP).
    registers: Mapped[list[Register]] = relationship(
        secondary=profession_registers, order_by="Register.code"
    )

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_nl


class Theme(Base):
    """A programme theme: a CHIME+RS pillar or a Welzijn op recept theme."""

    __tablename__ = "themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    family: Mapped[str] = mapped_column(String(40))
    name_nl: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_nl
