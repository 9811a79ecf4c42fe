"""Canaries: register, reveal and rotate 100 distinctive people, then search the whole database for them.

No ID number or phone may be stored in plaintext anywhere (not in the register, the
audit trail, the access log or a task queue), and no run of 8 or more of their digits
either: the masks show 4 + 4 digits at most, so any longer run is a leak.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection

from gridgov.registry import crypto
from gridgov.registry.identifiers import id_check_character, id_number_mask, phone_mask
from gridgov.registry.models import Resident
from gridgov.registry.services import (
    HouseholdSpec,
    ResidentSpec,
    households_bulk_create,
    resident_reveal,
    residents_bulk_register,
)
from gridgov.testing.factories import AreaTree

# Committed data: pg_dump reads the database from another connection.
pytestmark = pytest.mark.django_db(transaction=True)

CANARY_COUNT = 100
RUN = 8  # the shortest run of digits that counts as a leak
DIGIT_RUNS = re.compile(rf"[0-9X]{{{RUN},}}")


def canary_id(n: int) -> str:
    # Haikou (460106) is nowhere else in the test data; birth dates and sequences vary per canary.
    born = date(1961, 3, 7) + timedelta(days=367 * n // 3)
    first17 = f"460106{born:%Y%m%d}{(n * 7 + 1) % 1000:03d}"
    return first17 + id_check_character(first17)


def canary_phone(n: int) -> str:
    # High-entropy digits: long runs of zeros or nines also occur in floats (coordinates).
    return f"166{(31415926 + n * 2718281) % 10**8:08d}"


@dataclass(frozen=True)
class Canaries:
    ids: list[str]
    phones: list[str]

    def windows(self) -> set[str]:
        """Every run of `RUN` consecutive characters of every canary."""
        return {value[i : i + RUN] for value in self.ids + self.phones for i in range(len(value) - RUN + 1)}

    def masks(self) -> list[str]:
        return [id_number_mask(value) for value in self.ids] + [phone_mask(value) for value in self.phones]


def leaks(text: str, canaries: Canaries) -> list[str]:
    """The canaries (whole or as runs of `RUN`+ digits) that occur in `text`."""
    windows = canaries.windows()
    found = {value for value in canaries.ids + canaries.phones if value in text}
    for match in DIGIT_RUNS.finditer(text.upper()):
        run = match.group()
        found.update(run[i : i + RUN] for i in range(len(run) - RUN + 1) if run[i : i + RUN] in windows)
    return sorted(found)


def as_text(value: Any) -> str:
    if isinstance(value, memoryview):
        value = bytes(value)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


def every_row_as_text() -> str:
    """Every value of every table, through the application's own connection."""
    parts: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (names from the schema)
            parts.extend("\t".join(as_text(value) for value in row) for row in cursor.fetchall())
    return "\n".join(parts)


@pytest.fixture(autouse=True)
def _fresh_keyring() -> Iterator[None]:
    crypto._keyring_from.cache_clear()
    yield
    crypto._keyring_from.cache_clear()


@pytest.fixture
def canaries(tree: AreaTree, personas: dict[str, Any], settings: Any) -> Canaries:
    """100 people registered in bulk, some revealed, one reveal refused, then a key rotation."""
    ids = [canary_id(n) for n in range(CANARY_COUNT)]
    phones = [canary_phone(n) for n in range(CANARY_COUNT)]
    assert len(set(ids)) == len(set(phones)) == CANARY_COUNT
    # Given a database where no canary occurs yet (else the search below would prove nothing)
    assert leaks(every_row_as_text(), Canaries(ids=ids, phones=phones)) == []
    # And 25 households spread over the tree's grids, four canaries in each
    households = households_bulk_create(
        actor=personas["grid_worker"],
        specs=[HouseholdSpec(grid=tree.grids[n % len(tree.grids)], address=f"金丝雀路{n}号") for n in range(25)],
    )
    residents_bulk_register(
        actor=personas["grid_worker"],
        specs=[
            ResidentSpec(household=households[n // 4], name=f"金丝雀{n}", id_number=ids[n], phone=phones[n])
            for n in range(CANARY_COUNT)
        ],
    )
    # And reveals: two allowed in the worker's own grid, one refused to an outsider
    own = Resident.objects.filter(household__grid=tree.grids[0]).order_by("pk")[:2]
    for resident in own:
        revealed = resident_reveal(actor=personas["grid_worker"], resident=resident, purpose="入户核实身份信息")
        assert revealed.id_number in ids
    with pytest.raises(PermissionDenied, match="没有查看该居民明文信息的权限"):
        resident_reveal(actor=personas["outsider"], resident=own[0], purpose="越权查看")
    # And a key rotation, so its log row is searched too
    settings.FIELD_KEY_CURRENT = "t2"
    call_command("rotate_field_keys", stdout=StringIO())
    assert not Resident.objects.exclude(key_id="t2").exists()
    return Canaries(ids=ids, phones=phones)


def test_no_canary_in_any_row_of_any_table(canaries: Canaries) -> None:
    # When every row of every table is read back as text
    text = every_row_as_text()
    # Then the masks are there (so the search does see the register) ...
    missing = [mask for mask in canaries.masks() if mask not in text]
    assert missing == []
    # ... and no ID number, phone or run of 8+ of their digits is
    assert leaks(text, canaries) == []


def test_the_search_would_find_a_plaintext_leak(canaries: Canaries) -> None:
    # Given one phone written in clear into a column, as a careless import might
    Resident.objects.filter(phone_masked=phone_mask(canaries.phones[5])).update(employment=canaries.phones[5][1:9])
    # Then the search reports it: the canary test can fail
    assert leaks(every_row_as_text(), canaries) == [canaries.phones[5][1:9]]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite database image exists only on SQLite")
def test_no_canary_in_the_sqlite_database_image(canaries: Canaries) -> None:
    # When the raw bytes of the database (tables, indexes, free pages) are searched
    image = connection.connection.serialize().decode("latin-1")
    # Then the masks are found and no canary is
    assert all(mask in image for mask in canaries.masks())
    assert leaks(image, canaries) == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_dump only applies to PostgreSQL")
def test_no_canary_in_pg_dump(canaries: Canaries) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.skip("pg_dump is not installed")
    # When the test database is dumped as SQL from outside the application
    db = connection.settings_dict
    command = [pg_dump, "--data-only", "--no-owner", "--dbname", db["NAME"]]
    for option, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            command += [option, str(db[key])]
    dump = subprocess.run(  # noqa: S603 (fixed program, arguments from settings)
        command, env={**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}, capture_output=True, check=True
    ).stdout.decode("utf-8")
    # Then the masks are in it and no canary is
    assert all(mask in dump for mask in canaries.masks())
    assert leaks(dump, canaries) == []
