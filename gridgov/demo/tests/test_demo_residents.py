"""`manage.py demo_county`: the households and residents of the small preset.

The county is generated once for the module (and rolled back after it): a
run with residents takes several seconds, most of it encrypting ID numbers.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count

from gridgov.accounts.models import User
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area, Building
from gridgov.demo.people import HOME_AREA_CODE, REFERENCE_DATE, age_on
from gridgov.registry.access_log import GENESIS_HASH, access_log_append
from gridgov.registry.choices import AccessAction, Relation, Residence
from gridgov.registry.crypto import blind_index, field_decrypt
from gridgov.registry.identifiers import id_number_mask, id_number_parse, phone_mask, phone_normalise
from gridgov.registry.models import AccessLogEntry, AccessLogHead, Household, Resident
from gridgov.registry.services import ID_INDEX_KIND

pytestmark = pytest.mark.django_db

SEED = 7
DEMO_NOW = datetime(2026, 11, 20, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
URBAN_TOWN = "370281002"  # 中云街道 (the small preset's other town, 李哥庄镇, is rural)


def run_demo(tmp_path: Path, *extra: str) -> dict[str, Any]:
    """The small preset at one fixed moment: the demo is relative to "now" (open cases' clocks on
    working hours, contracts falling due), so two runs minutes apart would differ in their counts."""
    summary_path = tmp_path / "summary.json"
    output = io.StringIO()
    with time_machine.travel(DEMO_NOW, tick=False):
        call_command(
            "demo_county", "--preset", "small", "--seed", str(SEED), "--summary-json", str(summary_path), *extra,
            stdout=output,
        )  # fmt: skip
    assert "实有人口" in output.getvalue()
    return json.loads(summary_path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def county(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The small preset with residents, generated once; each test runs in a savepoint inside this transaction."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield run_demo(tmp_path_factory.mktemp("demo"))
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def people_digest() -> str:
    """Who lives where, independent of primary keys and of the random nonces in the ciphertexts."""
    household_tags: dict[int, list[str]] = defaultdict(list)
    for household_id, code in Household.tags.through.objects.values_list("household_id", "tag__code"):
        household_tags[household_id].append(code)
    resident_tags: dict[int, list[str]] = defaultdict(list)
    for resident_id, code in Resident.tags.through.objects.values_list("resident_id", "tag__code"):
        resident_tags[resident_id].append(code)
    rows = sorted(
        (
            row["household__address"],
            sorted(household_tags[row["household_id"]]),
            row["name"],
            row["id_masked"],
            row["id_index"],
            row["relation"],
            row["residence"],
            row["is_party_member"],
            row["employment"],
            row["phone_masked"],
            row["phone_index"],
            str(row["moved_in_on"]),
            sorted(resident_tags[row["id"]]),
        )
        for row in Resident.objects.values(
            "id",
            "household_id",
            "household__address",
            "name",
            "id_masked",
            "id_index",
            "relation",
            "residence",
            "is_party_member",
            "employment",
            "phone_masked",
            "phone_index",
            "moved_in_on",
        )  # fmt: skip
    )
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()


def test_every_building_holds_its_households(county: dict[str, Any]) -> None:
    counts = county["counts"]
    filled = dict(Building.objects.annotate(n=Count("households")).values_list("id", "n"))

    assert counts["registered_households"] == counts["households"] == 4_500
    assert 12_000 <= counts["residents"] <= 15_000  # about 3 people a household
    for building in Building.objects.select_related("compound"):
        assert filled[building.pk] == building.household_count, building
    addresses = list(Household.objects.values_list("address", flat=True))
    assert len(set(addresses)) == len(addresses)


def test_households_are_addressed_by_unit_and_room_or_by_house_number(county: dict[str, Any]) -> None:
    # Only the codes of the grids: their polygons are large.
    grid_codes = dict(Area.objects.values_list("id", "code"))
    households = Household.objects.select_related("building")

    for household in households:
        building = household.building
        assert building is not None
        assert (household.grid_id, household.microgrid_id, household.compound_id) == (
            building.grid_id,
            building.microgrid_id,
            building.compound_id,
        )
        if grid_codes[household.grid_id].startswith(URBAN_TOWN):
            unit = int(household.unit.removesuffix("单元"))
            floor, door = divmod(int(household.room), 100)
            assert 1 <= unit <= building.unit_count and floor >= 1 and door in (1, 2)
            assert household.address.endswith(f"{building.name}{household.unit}{household.room}")
        else:
            assert household.unit == "" and household.room.endswith("号")
            assert household.address.startswith("李哥庄镇")
            assert household.address.endswith(building.name + household.room)
    assert households.filter(address__contains="文澜阁小区1号楼1单元101").exists()


def test_id_numbers_decrypt_to_valid_unique_numbers_that_match_the_record(county: dict[str, Any]) -> None:
    seen: set[str] = set()
    area_codes: Counter[tuple[str, bool]] = Counter()
    adults = adults_with_phone = 0

    for resident in Resident.objects.all():
        plain = field_decrypt(resident.id_ciphertext, field="id")
        parsed = id_number_parse(plain)

        assert parsed.value == plain and plain not in seen
        seen.add(plain)
        assert (parsed.gender, parsed.birth_date) == (resident.gender, resident.birth_date)
        assert resident.id_masked == id_number_mask(plain)
        assert resident.id_index == blind_index(plain, kind=ID_INDEX_KIND)
        floating = resident.residence == Residence.NOT_REGISTERED_LIVING
        area_codes[(parsed.area_code, floating)] += 1
        age = age_on(resident.birth_date, REFERENCE_DATE)
        assert 0 <= age <= 100
        if resident.phone_ciphertext:
            phone = field_decrypt(resident.phone_ciphertext, field="phone")
            assert phone_normalise(phone) == phone and resident.phone_masked == phone_mask(phone)
            assert age >= 18
        if age >= 18:
            adults += 1
            adults_with_phone += bool(resident.phone_ciphertext)

    local = sum(n for (code, floating), n in area_codes.items() if not floating)
    local_home = sum(n for (code, floating), n in area_codes.items() if not floating and code == HOME_AREA_CODE)
    floating_home = sum(n for (code, floating), n in area_codes.items() if floating and code == HOME_AREA_CODE)
    assert local_home > 0.9 * local  # a few spouses married in from elsewhere
    assert floating_home == 0  # the floating population comes from other counties
    assert len({code for code, floating in area_codes if floating}) > 10
    assert adults_with_phone > 0.85 * adults


def test_families_have_one_head_and_plausible_ages(county: dict[str, Any]) -> None:
    members: dict[int, list[Resident]] = defaultdict(list)
    for resident in Resident.objects.order_by("id"):
        members[resident.household_id].append(resident)
    sizes = Counter(len(people) for people in members.values())

    assert len(members) == Household.objects.count()  # nobody's home is empty
    for people in members.values():
        heads = [person for person in people if person.relation == Relation.HEAD]
        assert len(heads) == 1
        head = heads[0]
        assert age_on(head.birth_date, REFERENCE_DATE) >= 20
        spouses = [person for person in people if person.relation == Relation.SPOUSE]
        assert len(spouses) <= 1
        for spouse in spouses:
            assert abs((spouse.birth_date - head.birth_date).days) <= 5 * 366
            assert spouse.gender != head.gender
        for person in people:
            gap = (person.birth_date - head.birth_date).days  # > 0: younger than the head
            if person.relation == Relation.CHILD:
                assert gap >= 20 * 365
                for spouse in spouses:
                    assert (person.birth_date - spouse.birth_date).days >= 20 * 365
            elif person.relation == Relation.GRANDCHILD:
                assert gap >= 40 * 365
            elif person.relation == Relation.PARENT:
                assert -gap >= 20 * 365
    assert sizes[1] > 0 and sizes[2] > 0 and sizes[3] > 0 and sizes[4] > 0 and sizes[5] > 0
    assert 2.7 <= sum(len(people) for people in members.values()) / len(members) <= 3.3


def test_tags_follow_the_people_and_come_at_realistic_rates(county: dict[str, Any]) -> None:
    grid_codes = dict(Area.objects.values_list("id", "code"))
    households = {h.pk: h for h in Household.objects.prefetch_related("tags")}
    household_tags = {pk: {tag.code for tag in h.tags.all()} for pk, h in households.items()}
    people: dict[int, list[tuple[Resident, set[str]]]] = defaultdict(list)
    for resident in Resident.objects.prefetch_related("tags"):
        people[resident.household_id].append((resident, {tag.code for tag in resident.tags.all()}))
    residents = [pair for pairs in people.values() for pair in pairs]
    adults = [r for r, _ in residents if age_on(r.birth_date, REFERENCE_DATE) >= 18]
    tag_count = Counter(code for codes in household_tags.values() for code in codes)
    person_tag_count = Counter(code for _, codes in residents for code in codes)

    def age(resident: Resident) -> int:
        return age_on(resident.birth_date, REFERENCE_DATE)

    # Party members: about 7 % of adults; lead households hold one, a few in every grid.
    assert 0.04 <= sum(r.is_party_member for r in adults) / len(adults) <= 0.10
    leads = [pk for pk, codes in household_tags.items() if "party_lead" in codes]
    leads_per_grid = Counter(grid_codes[households[pk].grid_id] for pk in leads)
    assert set(leads_per_grid) == set(Area.objects.filter(level=AreaLevel.GRID).values_list("code", flat=True))
    assert all(1 <= n <= 8 for n in leads_per_grid.values())
    for pk in leads:
        assert any(r.is_party_member for r, _ in people[pk])
    # Hardship: 低保 about 2 %, 特困 rarer, never both.
    assert 0.008 <= tag_count["dibao"] / len(households) <= 0.04
    assert tag_count["tekun"] / len(households) <= 0.01
    assert not any({"dibao", "tekun"} <= codes for codes in household_tags.values())
    # Elderly living alone and empty nests follow the family shape.
    for pk, codes in household_tags.items():
        members = people[pk]
        if "elderly_alone" in codes:
            assert len(members) == 1 and age(members[0][0]) >= 60 and "living_alone" in members[0][1]
        if "empty_nest" in codes:
            assert len(members) == 2 and all(age(r) >= 60 for r, _ in members)
        if "floating" in codes:
            assert {"rental", "tenant"} <= codes
            assert all(r.residence == Residence.NOT_REGISTERED_LIVING for r, _ in members)
    assert 0.02 <= tag_count["elderly_alone"] / len(households) <= 0.15
    assert 0.05 <= tag_count["empty_nest"] / len(households) <= 0.25
    for resident, codes in residents:
        assert ("elderly_80" in codes) == (age(resident) >= 80)
        assert ("living_alone" in codes) == ("elderly_alone" in household_tags[resident.household_id])
        assert (
            resident.residence != Residence.NOT_REGISTERED_LIVING or "floating" in household_tags[resident.household_id]
        )
        if "veteran" in codes:
            assert resident.gender == "male" and 30 <= age(resident) <= 70
    # Rented homes and the floating population: more in the urban street than in the rural town.
    urban = [pk for pk, h in households.items() if grid_codes[h.grid_id].startswith(URBAN_TOWN)]
    rural = [pk for pk, h in households.items() if not grid_codes[h.grid_id].startswith(URBAN_TOWN)]
    for code in ("rental", "tenant", "floating"):
        urban_rate = sum(code in household_tags[pk] for pk in urban) / len(urban)
        rural_rate = sum(code in household_tags[pk] for pk in rural) / len(rural)
        assert urban_rate > rural_rate and 0.05 <= urban_rate <= 0.25, code
    # Person tags at low rates.
    men_30_70 = [r for r, _ in residents if r.gender == "male" and 30 <= age(r) <= 70]
    assert 0.005 <= person_tag_count["veteran"] / len(men_30_70) <= 0.05
    disabled = sum(n for code, n in person_tag_count.items() if code.startswith("disability_"))
    assert 0.005 <= disabled / len(residents) <= 0.03
    rare = ("community_correction", "released_prisoner", "severe_mental", "drug_user", "left_behind_child", "dropout")
    assert sum(person_tag_count[code] for code in rare) / len(residents) <= 0.01
    assert 0 < person_tag_count["low_income"] / len(residents) <= 0.03


def test_same_seed_gives_the_same_people_and_reset_replaces_them(county: dict[str, Any], tmp_path: Path) -> None:
    digest = people_digest()
    residents = Resident.objects.count()
    resident = Resident.objects.first()
    assert resident is not None
    access_log_append(
        actor=User.objects.get(username="admin"),
        action=AccessAction.REVEAL,
        object_type="resident",
        object_id=resident.pk,
        purpose="核实身份信息",
    )

    second = run_demo(tmp_path, "--reset")

    assert second == county
    assert Resident.objects.count() == residents
    assert people_digest() == digest
    assert not AccessLogEntry.objects.exists()
    head = AccessLogHead.objects.get(id=1)
    assert (head.seq, head.row_hash) == (0, GENESIS_HASH)


def test_reference_date_is_not_in_the_future() -> None:
    # ID numbers with a birth date after today are invalid: the demo's "today" must not be ahead of the real one.
    assert date.today() >= REFERENCE_DATE  # noqa: DTZ011 (a calendar date)
