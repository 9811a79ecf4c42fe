"""SM4 and SM3 primitives against the standards' vectors, field encryption and the blind index."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.core.exceptions import ImproperlyConfigured

from gridgov.registry import crypto
from gridgov.registry.crypto import DecryptionError, blind_index, field_decrypt, field_encrypt, field_key_id, sm3_hex

ID_NUMBER = "11010519491231002X"
OTHER_INDEX_KEY = base64.b64encode(b"another-blind-index-key!").decode()
SHORT_KEY = base64.b64encode(b"8 bytes!").decode()


@pytest.fixture(autouse=True)
def _fresh_keyring() -> Iterator[None]:
    # Settings changed by a test must not leave a parsed key ring behind for the next one.
    crypto._keyring_from.cache_clear()
    yield
    crypto._keyring_from.cache_clear()


def test_sm4_primitive_matches_gb_t_32907_appendix_a() -> None:
    # Given the key and plaintext of GB/T 32907-2016 Appendix A, example 1
    block = bytes.fromhex("0123456789abcdeffedcba9876543210")
    # When one block is encrypted with plain SM4
    encryptor = Cipher(algorithms.SM4(block), modes.ECB()).encryptor()  # noqa: S305 (one-block known-answer test)
    ciphertext = encryptor.update(block) + encryptor.finalize()
    # Then it is the ciphertext printed in the standard
    assert ciphertext.hex() == "681edf34d206965e86b3e94f536e4246"


def test_sm3_matches_gb_t_32905_example() -> None:
    # GB/T 32905-2016 Appendix A, example 1: SM3("abc").
    assert sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_field_round_trip_under_the_current_key() -> None:
    # Given an ID number encrypted with the current key (t1 in tests)
    ciphertext = field_encrypt(ID_NUMBER, field="id")
    # Then the key id travels with it, the plaintext does not, and it decrypts back
    assert field_key_id(ciphertext) == "t1"
    assert ciphertext.startswith("t1:")
    assert ID_NUMBER not in ciphertext
    assert field_decrypt(ciphertext, field="id") == ID_NUMBER


def test_field_round_trip_under_an_older_key() -> None:
    ciphertext = field_encrypt("中文也可以", key_id="t2", field="id")
    assert ciphertext.startswith("t2:")
    assert field_decrypt(ciphertext, field="id") == "中文也可以"


def test_same_value_encrypts_differently_each_time() -> None:
    # A fresh GCM nonce per value: equal ciphertexts would reveal equal ID numbers.
    assert field_encrypt(ID_NUMBER, field="id") != field_encrypt(ID_NUMBER, field="id")


@pytest.mark.parametrize("position", [0, 12, 20, -1])  # nonce, body, body, tag
def test_tampered_ciphertext_raises_decryption_error(position: int) -> None:
    # Given a ciphertext with one bit flipped in the nonce, the body or the tag
    key_id, _, encoded = field_encrypt(ID_NUMBER, field="id").partition(":")
    blob = bytearray(base64.b64decode(encoded))
    blob[position] ^= 0x01
    tampered = f"{key_id}:{base64.b64encode(bytes(blob)).decode()}"
    # When it is decrypted, then GCM authentication refuses it
    with pytest.raises(DecryptionError):
        field_decrypt(tampered, field="id")


def test_relabelled_key_id_raises_decryption_error() -> None:
    # The key id is authenticated data: moving a ciphertext to another key's label fails.
    encoded = field_encrypt(ID_NUMBER, field="id").partition(":")[2]
    with pytest.raises(DecryptionError):
        field_decrypt(f"t2:{encoded}", field="id")


@pytest.mark.parametrize("ciphertext", ["t9:AAAA", "no-key-id", ":AAAA", ""])
def test_unknown_or_missing_key_id_raises_decryption_error(ciphertext: str) -> None:
    with pytest.raises(DecryptionError, match="unknown key id"):
        field_decrypt(ciphertext, field="id")


@pytest.mark.parametrize(
    "ciphertext", ["t1:not base64!", "t1:" + base64.b64encode(b"too short").decode()], ids=["base64", "short"]
)
def test_malformed_ciphertext_raises_decryption_error(ciphertext: str) -> None:
    with pytest.raises(DecryptionError):
        field_decrypt(ciphertext, field="id")


def test_ciphertext_from_a_removed_key_cannot_be_read(settings: Any) -> None:
    # Given a value encrypted under t2, then t2 removed from the configuration
    ciphertext = field_encrypt(ID_NUMBER, key_id="t2", field="id")
    settings.FIELD_KEYS = settings.FIELD_KEYS.split(",")[0]
    # Then it is an unknown key id, not a crash
    with pytest.raises(DecryptionError, match="unknown key id 't2'"):
        field_decrypt(ciphertext, field="id")


def test_blind_index_is_deterministic_hex_sm3() -> None:
    index = blind_index(ID_NUMBER, kind="id")
    assert index == blind_index(ID_NUMBER, kind="id")
    assert len(index) == 64
    assert int(index, 16) >= 0
    assert blind_index("11010519491231003X", kind="id") != index


def test_blind_index_differs_by_kind() -> None:
    # The same digits as an ID and as a phone never match each other.
    assert blind_index("13812345678", kind="id") != blind_index("13812345678", kind="phone")


def test_blind_index_differs_by_key(settings: Any) -> None:
    before = blind_index(ID_NUMBER, kind="id")
    settings.BLIND_INDEX_KEY = OTHER_INDEX_KEY
    assert blind_index(ID_NUMBER, kind="id") != before


def test_blind_index_does_not_depend_on_the_field_key(settings: Any) -> None:
    # Rotating the SM4 key must not change lookups.
    before = blind_index(ID_NUMBER, kind="id")
    settings.FIELD_KEY_CURRENT = "t2"
    assert blind_index(ID_NUMBER, kind="id") == before


@pytest.mark.parametrize(
    ("keys", "current", "index_key", "message"),
    [
        ("", "t1", OTHER_INDEX_KEY, "GRIDGOV_FIELD_KEYS is empty"),
        (" , ", "t1", OTHER_INDEX_KEY, "GRIDGOV_FIELD_KEYS is empty"),
        (f"t1:{SHORT_KEY}", "t1", OTHER_INDEX_KEY, "must be 16 bytes, got 8"),
        ("t1:" + base64.b64encode(b"k" * 32).decode(), "t1", OTHER_INDEX_KEY, "must be 16 bytes, got 32"),
        ("t1:not*base64", "t1", OTHER_INDEX_KEY, "not valid base64"),
        ("t1", "t1", OTHER_INDEX_KEY, "id:base64key"),
        ("a-key-id-over-16-chars:" + base64.b64encode(b"k" * 16).decode(), "t1", OTHER_INDEX_KEY, "id:base64key"),
        ("t1:" + base64.b64encode(b"k" * 16).decode(), "t2", OTHER_INDEX_KEY, "must name one of"),
        ("t1:" + base64.b64encode(b"k" * 16).decode(), "t1", "", "GRIDGOV_BLIND_INDEX_KEY is empty"),
        ("t1:" + base64.b64encode(b"k" * 16).decode(), "t1", SHORT_KEY, "16 bytes or more, got 8"),
    ],
)
def test_missing_or_bad_keys_are_improperly_configured(keys: str, current: str, index_key: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        crypto._keyring_from(keys, current, index_key)


def test_missing_key_stops_encryption_through_settings(settings: Any) -> None:
    # Given a deployment that forgot GRIDGOV_FIELD_KEYS
    settings.FIELD_KEYS = ""
    # When personal data would be stored, then nothing is written in plaintext: it fails loudly
    with pytest.raises(ImproperlyConfigured, match="cannot be stored without a key"):
        field_encrypt(ID_NUMBER, field="id")


def test_a_ciphertext_moved_to_another_field_does_not_decrypt() -> None:
    # given an ID number encrypted for the "id" column
    ciphertext = field_encrypt(ID_NUMBER, field="id")
    # when someone copies it into the phone column, it no longer decrypts there
    with pytest.raises(DecryptionError):
        field_decrypt(ciphertext, field="phone")
    assert field_decrypt(ciphertext, field="id") == ID_NUMBER
