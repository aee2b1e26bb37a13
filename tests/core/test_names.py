"""Sorting by surname (services/core/names.py), as Dutch attendance lists do."""

from __future__ import annotations

from symposium.services.core import names


def test_the_surname_is_found_with_its_particles_set_aside() -> None:
    assert names.split("Jan van der Berg") == ("Jan", "van der", "Berg")
    assert names.split("Anna de Vries-van Dam") == ("Anna", "de", "Vries-van Dam")
    assert names.split("Zoë Çelik") == ("Zoë", "", "Çelik")
    assert names.split("Maria José García") == ("Maria José", "", "García")
    assert names.split("Madonna") == ("", "", "Madonna")
    assert names.split("Pieter Van") == ("Pieter", "", "Van")  # a particle is never all


def test_a_list_sorts_by_surname_accents_and_case_aside() -> None:
    people = ["Zoë Çelik", "Jan van der Berg", "anna berg", "Kees de Boer", "Ömer Aydın",
              "Bram Celik", "Pieter 't Hart"]  # fmt: skip
    assert sorted(people, key=names.sort_key) == [
        "Ömer Aydın", "anna berg", "Jan van der Berg", "Kees de Boer", "Bram Celik",
        "Zoë Çelik", "Pieter 't Hart",
    ]  # fmt: skip


def test_the_letter_a_name_is_filed_under() -> None:
    assert names.initial("Jan van der Berg") == "B"
    assert names.initial("Zoë Çelik") == "C"
    assert names.initial("Ömer Øster") == "O"
    assert names.initial("李 小龙") == "#"
