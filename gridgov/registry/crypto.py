"""SM4-GCM field encryption with key ids, and the HMAC-SM3 blind index.

Ciphertext format (text, ASCII): `<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`.
The key id travels with the data so that keys can be rotated row by row. The
key id and the field name ("id", "phone") are authenticated data: a ciphertext
copied into another column, or relabelled with another key id, fails to decrypt.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

NONCE_BYTES = 12
TAG_BYTES = 16


class DecryptionError(Exception):
    """Ciphertext that is corrupt, was tampered with, or whose key is gone."""


@dataclass(frozen=True)
class KeyRing:
    keys: dict[str, bytes]
    current: str
    index_key: bytes


def _decode_key(text: str, *, what: str, min_length: int, exact: bool) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as error:
        raise ImproperlyConfigured(f"{what} is not valid base64") from error
    if (exact and len(key) != min_length) or len(key) < min_length:
        raise ImproperlyConfigured(f"{what} must be {min_length} bytes{'' if exact else ' or more'}, got {len(key)}")
    return key


@lru_cache(maxsize=1)
def _keyring_from(keys_setting: str, current: str, index_key_setting: str) -> KeyRing:
    keys: dict[str, bytes] = {}
    for item in keys_setting.split(","):
        if not item.strip():
            continue
        key_id, sep, encoded = item.strip().partition(":")
        if not sep or not key_id or len(key_id) > 16:
            raise ImproperlyConfigured("GRIDGOV_FIELD_KEYS entries must look like id:base64key (id ≤ 16 characters)")
        keys[key_id] = _decode_key(encoded, what=f"SM4 key {key_id!r}", min_length=16, exact=True)
    if not keys:
        raise ImproperlyConfigured("GRIDGOV_FIELD_KEYS is empty: personal data cannot be stored without a key")
    if current not in keys:
        raise ImproperlyConfigured("GRIDGOV_FIELD_KEY_CURRENT must name one of GRIDGOV_FIELD_KEYS")
    if not index_key_setting:
        raise ImproperlyConfigured("GRIDGOV_BLIND_INDEX_KEY is empty")
    index_key = _decode_key(index_key_setting, what="GRIDGOV_BLIND_INDEX_KEY", min_length=16, exact=False)
    return KeyRing(keys=keys, current=current, index_key=index_key)


def keyring() -> KeyRing:
    """The keys from settings (parsed once per distinct setting value)."""
    return _keyring_from(settings.FIELD_KEYS, settings.FIELD_KEY_CURRENT, settings.BLIND_INDEX_KEY)


def sm4_gcm_encrypt(key: bytes, plaintext: bytes, *, associated_data: bytes = b"") -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    if associated_data:
        encryptor.authenticate_additional_data(associated_data)
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    return nonce + ciphertext + encryptor.tag


def sm4_gcm_decrypt(key: bytes, blob: bytes, *, associated_data: bytes = b"") -> bytes:
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("ciphertext too short")
    nonce, body, tag = blob[:NONCE_BYTES], blob[NONCE_BYTES:-TAG_BYTES], blob[-TAG_BYTES:]
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    if associated_data:
        decryptor.authenticate_additional_data(associated_data)
    try:
        return decryptor.update(body) + decryptor.finalize()
    except InvalidTag as error:
        raise DecryptionError("authentication tag mismatch") from error


def _associated_data(key_id: str, field: str) -> bytes:
    if not field:
        raise ValueError("field name required")
    return f"{key_id}\x00{field}".encode()


def field_encrypt(plaintext: str, *, field: str, key_id: str | None = None) -> str:
    """Encrypt the value of `field` with the current key (or `key_id`)."""
    ring = keyring()
    chosen = key_id or ring.current
    if chosen not in ring.keys:
        raise ImproperlyConfigured(f"unknown SM4 key id {chosen!r}")
    blob = sm4_gcm_encrypt(
        ring.keys[chosen], plaintext.encode("utf-8"), associated_data=_associated_data(chosen, field)
    )
    return f"{chosen}:{base64.b64encode(blob).decode('ascii')}"


def field_key_id(ciphertext: str) -> str:
    return ciphertext.partition(":")[0]


def field_decrypt(ciphertext: str, *, field: str) -> str:
    key_id, sep, encoded = ciphertext.partition(":")
    ring = keyring()
    if not sep or key_id not in ring.keys:
        raise DecryptionError(f"unknown key id {key_id!r}")
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise DecryptionError("ciphertext is not base64") from error
    return sm4_gcm_decrypt(ring.keys[key_id], blob, associated_data=_associated_data(key_id, field)).decode("utf-8")


def blind_index(value: str, *, kind: str) -> str:
    """HMAC-SM3 of a normalised value, namespaced by `kind` so an ID and a phone never collide."""
    mac = hmac.HMAC(keyring().index_key, hashes.SM3())
    mac.update(kind.encode("ascii") + b"\x00" + value.encode("utf-8"))
    return mac.finalize().hex()


def sm3_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()
