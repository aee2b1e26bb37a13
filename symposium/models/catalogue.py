"""Reference data: professions, the registers that accredit them, and programme themes."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from symposium.models.base import Base

profession_registers = Table(
    "profession_registers",
    Base.metadata,
    Column("profession_id", ForeignKey("professions.id", ondelete="CASCADE"), primary_key=True),
    Column("register_id", ForeignKey("registers.id", ondelete="CASCADE"), primary_key=True),
)


class Register(Base):
    """A professional register (BIG, NIP, Registerplein …) and the identifier it issues."""

    __tablename__ = "registers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    identifier_name_nl: Mapped[str] = mapped_column(String(100))
    identifier_name_en: Mapped[str] = mapped_column(String(100))
    # Regular expression a well-formed identifier matches in full; None when the format
    # is not published and cannot be verified.
    identifier_pattern: Mapped[str | None] = mapped_column(String(200))
    identifier_hint_nl: Mapped[str] = mapped_column(Text, default="")
    identifier_hint_en: Mapped[str] = mapped_column(Text, default="")

    def identifier_name(self, locale: str) -> str:
        return self.identifier_name_en if locale == "en" else self.identifier_name_nl


class Profession(Base):
    __tablename__ = "professions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_nl: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)
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
