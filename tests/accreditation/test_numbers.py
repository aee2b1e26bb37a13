"""Register numbers: formats, normalisation, the BIG profession warning, several numbers."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from symposium.models import Register
from symposium.services.accreditation import numbers
from symposium.services.core.errors import RuleError
from symposium.services.programme.rules import RegisterRule
from symposium.services.registration import lifecycle
from symposium.services.registration.validation import RegistrationInput, RegistrationInvalid
from tests.conftest import registration_data


@pytest.fixture
def rule(db):  # type: ignore[no-untyped-def]
    catalogue = {r.code: r for r in db.session.scalars(select(Register))}
    return lambda code: RegisterRule.of(catalogue[code])


@pytest.mark.parametrize(
    ("code", "typed", "stored"),
    [
        ("BIG", "19012345601", "19012345601"),
        ("BIG", "190 123 456 01", "19012345601"),
        ("BIG", "BIG-190.123.456.01", "19012345601"),
        ("BIG", "big:19012345601", "19012345601"),
        ("BIG", "79012345625, 19012345616", "79012345625, 19012345616"),
        ("BIG", "79012345625; 79012345625", "79012345625"),
        ("NIP", "NIP-00123456", "NIP-00123456"),
        ("NIP", "nip 00123456", "NIP-00123456"),
        ("NIP", "123456", "NIP-00123456"),
        ("REGISTERPLEIN", "461012345", "461012345"),
        ("REGISTERPLEIN", "4610 123 45", "461012345"),
        ("VENVN", "123456", "123456"),
        ("VENVN", "123.456", "123456"),
        ("KRP", " kp-12345 ", "KP-12345"),
        (
            "BIG",
            "１９０１２３４５６０１",
            "19012345601",
        ),  # full-width digits, from a phone keyboard
        ("BIG", "  ", ""),
    ],
)
def test_numbers_are_normalised_to_the_registers_form(rule, code, typed, stored) -> None:
    assert numbers.parse(rule(code), typed).value == stored


NIP_FORMAT = "An NIP number is NIP- followed by 8 digits, such as NIP-00123456."


@pytest.mark.parametrize(
    ("code", "typed", "message"),
    [
        ("BIG", "12345", "5 digits entered, 11 needed."),
        ("BIG", "190123456011", "12 digits entered, 11 needed."),
        ("BIG", "1901234560a", "A BIG number has digits only."),
        (
            "NIP",
            "NIP-123456789",
            "An NIP number is NIP- followed by 8 digits, such as NIP-00123456.",
        ),
        ("NIP", "NIP-12AB", "An NIP number is NIP- followed by 8 digits, such as NIP-00123456."),
        ("REGISTERPLEIN", "123456789", "A Registerplein number starts with 4610."),
        ("REGISTERPLEIN", "4610abc", "A Registerplein number has digits only."),
        ("VENVN", "12345", "5 digits entered, 6 needed."),
        ("KRP", "12 34, 56", "Enter one number."),
        ("KRP", "KP_1", "Use letters, digits and hyphens only."),
        ("BIG", "١٩٠١٢٣٤٥٦٠١", "A BIG number has digits only."),  # Arabic-Indic: not taken
        ("NIP", "123", NIP_FORMAT),  # too short to be a membership number
        ("BIG", "19012345601²", "12 digits entered, 11 needed."),  # ² is a 2
    ],
)
def test_a_wrong_number_says_what_is_wrong(rule, code, typed, message) -> None:
    with pytest.raises(RuleError) as refused, force_locale("en"):
        numbers.parse(rule(code), typed)
    assert refused.value.code == "invalid_identifier"
    assert refused.value.field == f"identifier_{code}"
    with force_locale("en"):
        assert str(refused.value.message) == message


def test_each_register_takes_the_number_of_its_profession(db) -> None:
    registers = {r.code: r for r in db.session.scalars(select(Register))}
    both = {"BIG": "79012345625, 19012345616", "NIP": "NIP-00123456"}
    assert numbers.pick(both, registers["FGZPT"]) == "79012345625"
    assert numbers.pick(both, registers["NVP"]) == "19012345616"
    assert numbers.pick(both, registers["NIP"]) == "NIP-00123456"
    assert numbers.pick(both, registers["GAIA"]) == "79012345625"  # none of 01: the first
    nurse = {"BIG": "19012345630"}
    assert numbers.pick(nurse, registers["VENVN"]) == "19012345630"
    assert numbers.pick(nurse | {"VENVN": "123456"}, registers["VENVN"]) == "123456"
    assert numbers.pick({}, registers["GAIA"]) is None


def test_a_big_number_of_another_profession_is_a_warning_the_person_confirms(
    db, event, clock
) -> None:
    data = RegistrationInput(**registration_data(1, "huisarts", identifiers={"BIG": "19012345625"}))
    with pytest.raises(RegistrationInvalid) as warned, force_locale("en"):
        lifecycle.register(db.session, event, data, clock.now, "k")
    (problem,) = warned.value.errors
    assert (problem.code, problem.field) == ("identifier_unexpected", "identifier_BIG")
    with force_locale("en"):
        assert "ends in 25 (healthcare psychologist)" in str(problem.message)
        assert "ending in 01 (doctor)" in str(problem.message)
    db.session.rollback()
    data.numbers_confirmed = True
    outcome = lifecycle.register(db.session, event, data, clock.now, "k")
    assert outcome.registration.identifiers == {"BIG": "19012345625"}


def test_two_big_numbers_pass_when_one_is_of_the_profession(db, event, clock) -> None:
    body = registration_data(1, "huisarts", identifiers={"BIG": "79012345625 / 19012345601"})
    outcome = lifecycle.register(db.session, event, RegistrationInput(**body), clock.now, "k")
    assert outcome.registration.identifiers == {"BIG": "79012345625, 19012345601"}


def test_only_the_numbers_of_the_accredited_registers_are_asked_and_kept(db, event, clock) -> None:
    # GZ-psychologists earn points with the NIP here; their BIG number is not needed.
    body = registration_data(
        1, "gz-psycholoog", identifiers={"BIG": "19012345625", "NIP": "00012345"}
    )
    outcome = lifecycle.register(db.session, event, RegistrationInput(**body), clock.now, "k")
    assert outcome.registration.identifiers == {"NIP": "NIP-00012345"}
    # A social worker's register (Registerplein) did not accredit this event: nothing asked.
    body = registration_data(2, "maatschappelijk-werker", identifiers={"REGISTERPLEIN": "4610"})
    outcome = lifecycle.register(db.session, event, RegistrationInput(**body), clock.now, "k")
    assert outcome.registration.identifiers == {}
