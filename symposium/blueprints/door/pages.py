"""The door pages: pick the session now running, then check people in and out of it.

Work without JavaScript: typing the code and searching by name are plain forms; the
scanner (static/door/) enhances the same page.
"""

from __future__ import annotations

from symposium.blueprints.door import bp  # noqa: F401
