"""Manage-link tokens: 256-bit, derivable again for re-sending, stored only as a hash.

The token is HMAC-SHA256(SECRET_KEY, nonce). The database keeps the random nonce and the
token's SHA-256: a copy of the database alone does not give anyone a working link, while the
application can mail the same link again. Rotating SECRET_KEY invalidates every link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def new_nonce() -> str:
    return secrets.token_hex(16)


def token_for(secret_key: str, nonce: str, purpose: str = "manage") -> str:
    digest = hmac.new(secret_key.encode(), f"{purpose}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
