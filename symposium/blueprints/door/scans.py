"""The JSON the door page's scanner sends: one scan, or a batch of scans made offline."""

from __future__ import annotations

from symposium.blueprints.door import bp  # noqa: F401
