"""Passwords, session tokens and CSRF tokens.

Passwords: scrypt (hashlib) with a random salt, stored as `scrypt$n$r$p$salt$hash`, so the
cost can be raised later without breaking old hashes. Sessions: a random token in an
HttpOnly, SameSite cookie; the store keeps only its SHA-256. CSRF: every form and every
JSON write carries HMAC(secret, session token), which a page on another site cannot know.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from dashboard.errors import UserError
from dashboard.settings import ROLES

# scrypt cost: n=2**14 with r=8 takes ~50 ms and 16 MiB here; raising n doubles both.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_DKLEN = 32
MIN_PASSWORD_CHARS = 8
USERNAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")  # fullmatch: "$" would let a final "\n" in
COOKIE = "hw_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            dklen=SCRYPT_DKLEN, maxmem=64 * 1024 * 1024)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        kind, n, r, p, salt, digest = encoded.split("$")
        if kind != "scrypt":
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r),
                                p=int(p), dklen=len(expected), maxmem=64 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# Checked against when the user does not exist, so a wrong name costs as long as a wrong
# password and the login form does not tell which names exist.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(12))


def verify_or_burn(password: str, encoded: str | None) -> bool:
    if encoded is None:
        verify_password(password, _DUMMY_HASH)
        return False
    return verify_password(password, encoded)


def check_new_user(name: str, password: str, role: str) -> None:
    if not USERNAME.fullmatch(name):
        raise UserError(f"user name: expected 1-64 letters, digits, '_', '.', '@' or '-', "
                        f"got {name!r}")
    if role not in ROLES:
        raise UserError(f"role: expected one of {', '.join(ROLES)}, got {role!r}")
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(f"password: expected at least {MIN_PASSWORD_CHARS} characters")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(secret: str, session_token: str) -> str:
    return hmac.new(secret.encode(), b"csrf:" + session_token.encode(), "sha256").hexdigest()


def csrf_ok(secret: str, session_token: str | None, presented: str | None) -> bool:
    if not session_token or not presented:
        return False
    return hmac.compare_digest(csrf_token(secret, session_token), presented)
