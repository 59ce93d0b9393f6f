"""Signed acknowledgement links: ``<public_base_url>/api/v1/ack/<token>``.

The token is an itsdangerous timed signature over ``(notice id, nonce)``; the
nonce is random per notice and stored with it, so a token cannot be forged
for another notice even by someone who has seen many links. The key comes from
``incidents.signing_key`` or is generated once into ``<data_dir>/incidents_signing.key``
(mode 0600).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from soc.config import Settings

KEY_FILE = "incidents_signing.key"
SALT = "soc.incidents.ack"


class TokenError(Exception):
    """The acknowledgement token is forged, damaged or expired; the message is safe to show."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


def signing_key(settings: Settings) -> str:
    configured = settings.incidents.signing_key.get_secret_value()
    if configured:
        return configured
    path = Path(settings.data_dir) / KEY_FILE
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Create with 0600 from the start (no window where another user could read it).
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key)
    return key


@dataclass(frozen=True)
class AckClaim:
    notice_id: int
    nonce: str


class AckSigner:
    def __init__(self, key: str, max_age_seconds: int) -> None:
        self._s = URLSafeTimedSerializer(key, salt=SALT)
        self.max_age = max_age_seconds

    def token(self, notice_id: int, nonce: str) -> str:
        return self._s.dumps([notice_id, nonce])

    def verify(self, token: str) -> AckClaim:
        try:
            data = self._s.loads(token, max_age=self.max_age)
        except SignatureExpired:
            raise TokenError("this acknowledgement link has expired; contact the SOC", expired=True) from None
        except BadSignature:
            raise TokenError("invalid acknowledgement link") from None
        if not (isinstance(data, list) and len(data) == 2 and isinstance(data[0], int) and isinstance(data[1], str)):
            raise TokenError("invalid acknowledgement link")
        return AckClaim(data[0], data[1])
