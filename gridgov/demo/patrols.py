"""A few weeks of patrols (巡查日志) for the demo county's grid workers.

`patrols_populate` writes, for every grid worker, a patrol on most working days
of the last `weeks` weeks (up to yesterday): the checklist items they looked at,
10–20 households of their grid visited, and the problems found, each settled
on the spot the same day — the seed's notebook. Everything is written with
`bulk_create`, so the small preset stays quick. Findings are not turned into
cases here (the year of cases is simulated by `cases`).

`patrols_delete_all` empties the patrol tables; `demo_reset` must call it first,
because patrols point at users, grids, households and cases (PROTECT).
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment
from gridgov.areas.choices import AreaLevel
from gridgov.cases.models import Category
from gridgov.core.db import delete_every_row
from gridgov.patrols.choices import CheckResult, FindingStatus, PatrolStatus
from gridgov.patrols.models import (
    CheckItem,
    Patrol,
    PatrolCheck,
    PatrolFinding,
    PatrolFindingPhoto,
    PatrolVisit,
)
from gridgov.registry.models import Household

BATCH = 5_000
PATROL_SHARE = 0.8  # of working days with a patrol
VISITS_PER_PATROL = (10, 20)
CHECKS_PER_PATROL = (4, 7)
PROBLEM_SHARE = 0.08
NOT_APPLICABLE_SHARE = 0.07

# (what was found, what was done the same day) per checklist item, in the words of a patrol log.
FINDINGS: dict[str, list[tuple[str, str]]] = {
    "fire_corridor": [
        ("楼道堆放纸箱、旧家具，堵塞消防通道", "联系住户当场清理，楼道已畅通"),
        ("消防通道被私家车占用", "联系车主挪车，已张贴禁停提示"),
    ],
    "gas": [
        ("沿街餐馆使用瓶装液化气，软管老化", "督促商户更换软管并签订安全承诺书"),
        ("独居老人家中燃气软管超期使用", "协助联系燃气公司上门更换"),
    ],
    "ebike_charging": [
        ("楼道内电动车充电，私拉电线“飞线充电”", "劝导住户拆除电线，引导到集中充电桩"),
        ("电动车推入电梯上楼充电", "宣传电动车安全知识，住户已推出"),
    ],
    "hoarding": [
        ("工地围挡螺丝松动，有倾倒隐患", "联系施工单位当场加固"),
        ("围挡破损，裸土未覆盖", "督促施工单位修补围挡、覆盖防尘网"),
    ],
    "group_rental": [
        ("2号楼出租屋租户夜间噪音扰民", "上门提醒租户注意作息，已登记租住人员"),
        ("疑似分隔出租，人员进出频繁", "联系房东核实，督促整改"),
    ],
    "facilities": [
        ("小区内井盖松动", "设置警示标志，物业已更换井盖"),
        ("健身器材螺丝脱落", "通知物业维修，已修复"),
    ],
    "sanitation": [
        ("绿化带内有生活垃圾堆放", "联系保洁当场清运"),
        ("垃圾桶满溢", "协调环卫加密清运"),
    ],
    "falling_objects": [
        ("高层阳台花盆摆放在护栏外", "上门劝导住户移至室内"),
        ("空调外机支架锈蚀", "提醒住户联系维修加固"),
    ],
    "street_order": [("早餐摊占道经营", "劝导摊主退回店内经营")],
    "flyers": [("单元门口张贴非法小广告", "当场清除")],
}


def _aware(day: date, minutes: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(8, 0)) + timedelta(minutes=minutes))


def _worker_grids() -> list[tuple[int, int]]:
    """(user id, grid id) of each active grid worker's first grid."""
    seen: set[int] = set()
    pairs: list[tuple[int, int]] = []
    assignments = (
        RoleAssignment.objects.filter(role=Role.GRID_WORKER, area__level=AreaLevel.GRID, user__is_active=True)
        .order_by("area__path", "user_id")
        .values_list("user_id", "area_id")
    )
    for user_id, grid_id in assignments:
        if user_id not in seen:
            seen.add(user_id)
            pairs.append((user_id, grid_id))
    return pairs


def patrols_populate(*, now: datetime, rng: random.Random, weeks: int = 3) -> dict[str, int]:
    """Patrols of every grid worker on most working days of the `weeks` weeks before `now`'s day."""
    items = list(CheckItem.objects.filter(is_active=True).order_by("sort_order", "id"))
    if not items:
        return {"patrols": 0}
    categories = {category.code: category for category in Category.objects.filter(is_active=True)}
    fallback = categories.get("9901") or next(iter(categories.values()))
    households: dict[int, list[int]] = defaultdict(list)
    for grid_id, household_id in (
        Household.objects.filter(moved_out_on__isnull=True).order_by("id").values_list("grid_id", "id")
    ):
        households[grid_id].append(household_id)
    today = timezone.localtime(now).date()
    days = [today - timedelta(days=offset) for offset in range(weeks * 7, 0, -1)]
    working_days = [day for day in days if day.weekday() < 5]

    patrols: list[Patrol] = []
    for worker_id, grid_id in _worker_grids():
        for day in working_days:
            if rng.random() > PATROL_SHARE:
                continue
            start_minute = rng.randint(30, 120)
            started_at = _aware(day, start_minute)
            patrols.append(
                Patrol(
                    worker_id=worker_id,
                    grid_id=grid_id,
                    status=PatrolStatus.FINISHED,
                    started_at=started_at,
                    ended_at=started_at + timedelta(minutes=rng.randint(60, 150)),
                )
            )
    Patrol.objects.bulk_create(patrols, batch_size=BATCH)

    checks: list[PatrolCheck] = []
    visits: list[PatrolVisit] = []
    findings: list[PatrolFinding] = []
    for patrol in patrols:
        span = ((patrol.ended_at or patrol.started_at) - patrol.started_at).total_seconds()
        chosen = rng.sample(items, k=min(len(items), rng.randint(*CHECKS_PER_PATROL)))
        problems: list[CheckItem] = []
        for item in chosen:
            roll = rng.random()
            result = CheckResult.OK
            if roll < PROBLEM_SHARE:
                result = CheckResult.PROBLEM
                problems.append(item)
            elif roll < PROBLEM_SHARE + NOT_APPLICABLE_SHARE:
                result = CheckResult.NOT_APPLICABLE
            checks.append(
                PatrolCheck(
                    patrol=patrol,
                    item=item,
                    result=result,
                    checked_at=patrol.started_at + timedelta(seconds=rng.uniform(0, span)),
                )
            )
        grid_households = households.get(patrol.grid_id, [])
        visited = rng.sample(grid_households, k=min(len(grid_households), rng.randint(*VISITS_PER_PATROL)))
        visits.extend(
            PatrolVisit(
                patrol=patrol,
                household_id=household_id,
                visited_at=patrol.started_at + timedelta(seconds=span * (index + 1) / (len(visited) + 1)),
            )
            for index, household_id in enumerate(visited)
        )
        for item in problems:
            description, result_text = rng.choice(FINDINGS.get(item.code) or [("发现安全隐患", "已现场处置")])
            found_at = patrol.started_at + timedelta(seconds=rng.uniform(0, span / 2))
            findings.append(
                PatrolFinding(
                    patrol=patrol,
                    check_item=item,
                    category=categories.get(item.category_code, fallback),
                    description=description,
                    status=FindingStatus.SETTLED,
                    result=result_text,
                    settled_at=found_at + timedelta(minutes=rng.randint(5, 40)),
                    found_at=found_at,
                )
            )
        patrol.notes = _notes(chosen, len(visited), len(problems))
    Patrol.objects.bulk_update(patrols, ["notes"], batch_size=BATCH)
    PatrolCheck.objects.bulk_create(checks, batch_size=BATCH)
    PatrolVisit.objects.bulk_create(visits, batch_size=BATCH)
    PatrolFinding.objects.bulk_create(findings, batch_size=BATCH)
    return {
        "patrols": len(patrols),
        "patrol_checks": len(checks),
        "patrol_visits": len(visits),
        "patrol_findings": len(findings),
    }


def _notes(items: list[CheckItem], visits: int, problems: int) -> str:
    names = "、".join(item.name for item in items[:3])
    more = "等" if len(items) > 3 else ""
    found = f"发现问题{problems}处，均已现场处置。" if problems else "未发现问题。"
    return f"检查{names}{more}{len(items)}项，走访{visits}户，{found}"


def patrols_delete_all() -> dict[str, Any]:
    """Delete every patrol with its checks, visits, findings and photos (files stay in the media directory)."""
    return {
        "patrol_finding_photos": delete_every_row(PatrolFindingPhoto),
        "patrol_findings": delete_every_row(PatrolFinding),
        "patrol_visits": delete_every_row(PatrolVisit),
        "patrol_checks": delete_every_row(PatrolCheck),
        "patrols": delete_every_row(Patrol),
    }
