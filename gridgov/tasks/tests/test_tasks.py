"""Issuing, recording and rolling up top-down tasks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.cases.errors import CaseForbidden
from gridgov.cases.models import Case, Category
from gridgov.notices.models import Notice
from gridgov.tasks.choices import TargetLevel, TargetStatus, TaskStatus, Vulnerability
from gridgov.tasks.models import Assignment, ChecklistVersion, Target, Task
from gridgov.tasks.selectors import (
    assignment_worklist,
    league_table,
    task_get_for_user,
    task_progress_by_child,
    task_progress_total,
    tasks_visible_to,
)
from gridgov.tasks.services import (
    CaseRequest,
    TargetResult,
    assignments_remind_overdue,
    checklist_revise,
    target_record,
    task_issue,
)
from gridgov.testing.factories import AreaTree, make_user_with_role
from gridgov.testing.tasks import Households, gas_checklist, issue_task, populate_households

pytestmark = pytest.mark.django_db


@pytest.fixture
def homes(tree: AreaTree) -> Households:
    return populate_households(tree)


def test_county_household_task_fans_out_one_assignment_per_grid_and_one_target_per_current_household(
    tree: AreaTree, personas: dict, homes: Households
) -> None:
    # given a county of 8 grids with 3 current households each and one moved-out household
    # when the county command issues a household-level task to the whole county
    task = issue_task(personas["county_command"], tree.district)
    # then every grid has exactly one assignment and every current household exactly one target
    assert task.status == TaskStatus.ISSUED
    assert sorted(Assignment.objects.filter(task=task).values_list("grid_id", flat=True)) == sorted(
        grid.pk for grid in tree.grids
    )
    household_ids = list(Target.objects.filter(assignment__task=task).values_list("household_id", flat=True))
    assert sorted(household_ids) == sorted(h.pk for homes_ in homes.by_grid.values() for h in homes_)
    assert homes.moved_out.pk not in household_ids
    assert (task.assignment_count, task.target_count) == (8, 24)
    # and the grid's worker holds the first grid's assignment, and got a notice
    first = Assignment.objects.get(task=task, grid=tree.grids[0])
    assert list(first.workers.all()) == [personas["grid_worker"]]
    assert first.total_targets == 3
    assert Notice.objects.filter(recipient=personas["grid_worker"], title__contains="燃气安全排查").exists()


@pytest.mark.parametrize(
    ("level", "per_grid"), [(TargetLevel.GRID, 1), (TargetLevel.BUILDING, 2), (TargetLevel.PLACE, 1)]
)
def test_other_levels_make_one_target_per_grid_building_or_place(
    tree: AreaTree, personas: dict, level: str, per_grid: int
) -> None:
    # when a town issues a task at that level to its first community
    task = issue_task(personas["town_staff"], tree.towns[0], targets=[tree.communities[0]], level=level)
    # then only that community's two grids are assigned, with the expected targets
    assert task.assignment_count == 2
    assert Target.objects.filter(assignment__task=task).count() == 2 * per_grid
    assert set(Assignment.objects.filter(task=task).values_list("total_targets", flat=True)) == {per_grid}


def test_double_click_and_reissue_never_duplicate(tree: AreaTree, personas: dict, homes: Households) -> None:
    # given a task created with a client token
    command = personas["county_command"]
    first = issue_task(command, tree.district, key="form-token-1")
    # when the same form is submitted again and the task is issued again
    second = issue_task(command, tree.district, key="form-token-1")
    again = task_issue(actor=command, task=first)
    # then there is still one task with one assignment per grid and one target per household
    assert first.pk == second.pk == again.pk
    assert Task.objects.count() == 1
    assert Assignment.objects.count() == 8
    assert Target.objects.count() == 24


def test_community_staff_cannot_issue_above_their_community(tree: AreaTree, personas: dict) -> None:
    with pytest.raises(CaseForbidden):
        issue_task(personas["community_staff"], tree.towns[0])
    with pytest.raises(ValidationError):
        # a target outside the issuing area
        issue_task(personas["community_staff"], tree.communities[0], targets=[tree.communities[1]])
    assert Task.objects.count() == 0


def test_vulnerable_households_come_first_in_each_worklist(tree: AreaTree, personas: dict, homes: Households) -> None:
    # given in each grid the last household has a member living alone and the second-to-last is on 低保
    task = issue_task(personas["county_command"], tree.district)
    for index in range(len(tree.grids)):
        assignment = Assignment.objects.get(task=task, grid=tree.grids[index])
        # when the worker opens the list
        rows = list(assignment_worklist(assignment))
        # then 独居老人 first, 困难人员 next, the rest after
        assert [row.household_id for row in rows] == [
            homes.by_grid[index][2].pk,
            homes.by_grid[index][1].pk,
            homes.by_grid[index][0].pk,
        ]
        assert [row.vulnerability for row in rows] == [
            Vulnerability.ALONE_ELDERLY,
            Vulnerability.HARDSHIP,
            Vulnerability.OTHER,
        ]


def _record(actor, target: Target, status: str = TargetStatus.DONE, **answers) -> Target:  # type: ignore[no-untyped-def]
    return target_record(actor=actor, target=target, result=TargetResult(status=status, answers=answers))


def test_rollup_equals_a_direct_count_at_every_level(tree: AreaTree, personas: dict, homes: Households) -> None:
    # given a county task where workers recorded targets in several grids, some refused
    command = personas["county_command"]
    now = timezone.now()
    task = issue_task(command, tree.district, checklist=gas_checklist(command, tree.district), now=now)
    workers = {grid.pk: make_user_with_role(Role.GRID_WORKER, grid) for grid in tree.grids[1:]}
    workers[tree.grids[0].pk] = personas["grid_worker"]
    targets = list(Target.objects.filter(assignment__task=task).select_related("assignment").order_by("id"))
    for index, target in enumerate(targets[:11]):
        status = TargetStatus.REFUSED if index % 4 == 3 else TargetStatus.DONE
        _record(workers[target.assignment.grid_id], target, status, uses_lpg=True)
    # when progress is read at each level, also after the due date
    later = now + timedelta(days=8)
    for parent in [tree.district, *tree.towns, *tree.communities]:
        rows = task_progress_by_child(command, task, parent, now=later)
        # then each child's figures equal a direct count of its targets and assignments
        assert rows
        for row in rows:
            assert row.area is not None
            direct = Target.objects.filter(
                assignment__task=task, assignment__grid__path__startswith=row.area.path
            ).aggregate(
                total=Count("id"),
                recorded=Count("id", filter=~Q(status=TargetStatus.PENDING)),
                done=Count("id", filter=Q(status=TargetStatus.DONE)),
            )
            overdue = (
                Target.objects.filter(
                    assignment__task=task,
                    assignment__grid__path__startswith=row.area.path,
                    status=TargetStatus.PENDING,
                )
                .values("assignment_id")
                .distinct()
                .count()
            )
            assert (row.total, row.recorded, row.done, row.overdue_grids) == (
                direct["total"],
                direct["recorded"],
                direct["done"],
                overdue,
            )
    total = task_progress_total(command, task, now=later)
    assert (total.total, total.recorded) == (24, 11)
    # and the league table puts the best completion first
    table = league_table(task_progress_by_child(command, task, tree.district, now=later))
    assert [row.rate for row in table] == sorted([row.rate for row in table], reverse=True)


def test_recording_validates_answers_against_the_issued_version(
    tree: AreaTree, personas: dict, homes: Households
) -> None:
    # given a task issued with version 1, and the checklist revised afterwards
    command = personas["county_command"]
    version = gas_checklist(command, tree.district)
    task = issue_task(command, tree.district, checklist=version)
    revised = checklist_revise(
        actor=command, form=version.form, fields=[{"key": "other", "label": "新字段", "kind": "text"}]
    )
    assert revised.number == 2
    assert Task.objects.get(pk=task.pk).checklist_id == version.pk
    target = Target.objects.filter(assignment__task=task, assignment__grid=tree.grids[0]).first()
    assert target is not None
    worker = personas["grid_worker"]
    # when the worker leaves a required answer out, gives a wrong option or a field of version 2
    for bad in (
        {},
        {"uses_lpg": True, "hose": "破损"},
        {"uses_lpg": True, "other": "x"},
        {"uses_lpg": True, "bottles": "多"},
    ):
        with pytest.raises(ValidationError):
            _record(worker, target, **bad)
    # then nothing is recorded; a valid answer is, with its types cleaned
    assert Assignment.objects.get(pk=target.assignment_id).recorded_targets == 0
    saved = _record(worker, target, uses_lpg="是", hose="老化", bottles="2")
    assert saved.answers == {"uses_lpg": True, "hose": "老化", "bottles": 2}
    # and not at home needs no answers
    other = Target.objects.filter(assignment=target.assignment).exclude(pk=target.pk).first()
    assert other is not None
    assert _record(worker, other, TargetStatus.NOT_HOME).status == TargetStatus.NOT_HOME


def test_recording_again_corrects_without_double_counting(tree: AreaTree, personas: dict, homes: Households) -> None:
    worker = personas["grid_worker"]
    task = issue_task(personas["county_command"], tree.district)
    assignment = Assignment.objects.get(task=task, grid=tree.grids[0])
    targets = list(Target.objects.filter(assignment=assignment))
    _record(worker, targets[0], TargetStatus.NOT_HOME)
    _record(worker, targets[0], TargetStatus.DONE)
    _record(worker, targets[0], TargetStatus.DONE)
    assignment.refresh_from_db()
    assert (assignment.recorded_targets, assignment.done_targets, assignment.completed_at) == (1, 1, None)
    for target in targets[1:]:
        _record(worker, target)
    assignment.refresh_from_db()
    assert (assignment.recorded_targets, assignment.done_targets) == (3, 3)
    assert assignment.completed_at is not None


def test_a_worker_of_another_grid_cannot_record(tree: AreaTree, personas: dict, homes: Households) -> None:
    task = issue_task(personas["county_command"], tree.district)
    target = Target.objects.filter(assignment__task=task, assignment__grid=tree.grids[1]).first()
    assert target is not None
    with pytest.raises(CaseForbidden):
        _record(personas["grid_worker"], target)


def test_an_answer_opens_one_case_even_when_sent_twice(tree: AreaTree, personas: dict, homes: Households) -> None:
    # given a worker finds an aged hose
    worker = personas["grid_worker"]
    task = issue_task(personas["county_command"], tree.district)
    target = Target.objects.filter(assignment__task=task, assignment__grid=tree.grids[0]).first()
    assert target is not None
    result = TargetResult(
        status=TargetStatus.DONE,
        open_case=CaseRequest(
            category=Category.objects.get(code="0608"), title="燃气软管老化", description="液化气软管老化开裂。"
        ),
    )
    # when the result with a case is sent twice (a retry)
    first = target_record(actor=worker, target=target, result=result)
    second = target_record(actor=worker, target=target, result=result)
    # then one case exists, from the grid worker, in the target's grid, linked to the target
    cases = Case.objects.filter(title="燃气软管老化")
    assert cases.count() == 1
    case = cases.get()
    assert first.case_id == second.case_id == case.pk
    assert (case.source, case.grid_id) == ("grid_worker", tree.grids[0].pk)


def test_out_of_scope_users_do_not_see_the_task(tree: AreaTree, personas: dict, homes: Households) -> None:
    # given a task of the first town
    task = issue_task(personas["town_staff"], tree.towns[0])
    # then the other town's staff, residents and the administrator do not see it
    for name in ("outsider", "resident", "admin"):
        assert not tasks_visible_to(personas[name]).exists()
        with pytest.raises(Http404):
            task_get_for_user(personas[name], task.pk)
    # while the first grid's worker and the county see it
    assert task_get_for_user(personas["grid_worker"], task.pk) == task
    assert task_get_for_user(personas["county_command"], task.pk) == task
    # and progress below an area outside one's scope is 404
    with pytest.raises(Http404):
        task_progress_by_child(personas["outsider"], task, tree.towns[0])


def test_overdue_assignments_are_reminded_once_a_day(tree: AreaTree, personas: dict, homes: Households) -> None:
    # given a county task due in an hour; the first grid's worker finishes nothing
    now = timezone.now()
    task = issue_task(personas["county_command"], tree.district, now=now, due_in=timedelta(hours=1))
    worker = personas["grid_worker"]
    reminders = Notice.objects.filter(recipient=worker, kind="supervision", link__contains="/tasks/assignments/")
    # before the due time nothing happens
    assert assignments_remind_overdue(now=now) == 0
    # after it every unfinished grid is reminded once, and again only a day later
    assert assignments_remind_overdue(now=now + timedelta(hours=2)) == 8
    assert assignments_remind_overdue(now=now + timedelta(hours=3)) == 0
    assert reminders.filter(channel="inbox").count() == 1
    assert assignments_remind_overdue(now=now + timedelta(hours=27)) == 8
    assert reminders.filter(channel="inbox").count() == 2
    # and a grid whose list is complete is not reminded
    for target in Target.objects.filter(assignment__task=task, assignment__grid=tree.grids[0]):
        _record(worker, target)
    assert assignments_remind_overdue(now=now + timedelta(hours=52)) == 7


def test_checklist_fields_are_validated(tree: AreaTree, personas: dict) -> None:
    command = personas["county_command"]
    for fields in (
        [],
        [{"key": "A b", "label": "x", "kind": "text"}],
        [{"key": "c", "label": "选", "kind": "choice", "options": ["一"]}],
        [{"key": "a", "label": "x", "kind": "text"}, {"key": "a", "label": "y", "kind": "text"}],
    ):
        with pytest.raises(ValidationError):
            gas_checklist_fields(command, tree, fields)
    assert ChecklistVersion.objects.count() == 0


def gas_checklist_fields(actor, tree: AreaTree, fields) -> None:  # type: ignore[no-untyped-def]
    from gridgov.tasks.services import checklist_create

    checklist_create(actor=actor, name="表", owner_area=tree.district, fields=fields)


def test_rank_labels_do_not_reveal_sensitive_groups_to_roles_not_granted_them(
    tree: AreaTree, personas: dict, homes: Households
) -> None:
    from gridgov.registry.models import Tag
    from gridgov.tasks.selectors import worklist_for_user

    # given a household in the first grid whose only flag is 刑满释放人员 (a sensitive group)
    household = homes.by_grid[0][0]
    household.tags.add(Tag.objects.get(code="released_prisoner"))
    task = issue_task(personas["county_command"], tree.district)
    assignment = Assignment.objects.get(task=task, grid=tree.grids[0])
    # when the worker and the town staff open the list
    for_worker = {t.household_id: t.vulnerability_label for t in worklist_for_user(personas["grid_worker"], assignment)}
    for_town = {t.household_id: t.vulnerability_label for t in worklist_for_user(personas["town_staff"], assignment)}
    # then both see it ahead of ordinary households, but only the worker sees why
    assert for_worker[household.pk] == "重点人群"
    assert for_town[household.pk] == "优先走访"
    assert for_town[homes.by_grid[0][2].pk] == "独居老人"
