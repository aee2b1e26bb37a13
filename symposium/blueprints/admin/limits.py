"""A limit of places as an explicit choice: a number, or "no limit" ticked.

An empty capacity field used to mean unlimited, so clearing it by mistake opened a workshop
to everyone without a word. Now an empty field is refused unless "No limit" is ticked, and a
number with "No limit" ticked is refused too: the organiser says which one they mean.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, Field


def no_limit_field() -> BooleanField:
    """The "No limit" box that goes with a capacity field (declare it right after it)."""
    return BooleanField(_l("No limit"))


def check_limit(capacity: Field, unlimited: Field) -> bool:
    """Whether the pair says one thing; puts the message next to the number when not.

    With "No limit" ticked the capacity's data becomes None, which the services read as
    unlimited.
    """
    if capacity.errors:
        return False
    if unlimited.data and capacity.data is not None:
        capacity.errors = [_l("Empty the number of places, or untick “No limit”.")]
        return False
    if not unlimited.data and capacity.data is None:
        capacity.errors = [_l("Fill in the number of places, or tick “No limit”.")]
        return False
    return True
