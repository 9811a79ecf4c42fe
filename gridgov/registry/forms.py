"""Forms of the household card: they parse the input; the services decide what is allowed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.registry.models import Resident
from gridgov.registry.services import LIFECYCLE_REASON_MAX_LENGTH, VISIT_NOTE_MAX_LENGTH

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def _date_field(label: StrOrPromise, *, required_message: StrOrPromise) -> forms.DateField:
    return forms.DateField(
        label=label,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": required_message, "invalid": _("日期格式不正确，请按“2024-05-01”填写。")},
    )


def form_error_text(form: forms.Form) -> str:
    """All of a form's errors as one line, for a flash message."""
    return " ".join(str(message) for messages in form.errors.values() for message in messages)


class VisitForm(forms.Form):
    visited_on = _date_field(_("走访日期"), required_message=_("请填写走访日期。"))
    note = forms.CharField(
        label=_("走访情况"),
        max_length=VISIT_NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("如：入户核实人员情况，家中老人身体状况良好")}),
        error_messages={
            "required": _("请填写走访情况。"),
            "max_length": _("走访情况不能超过%(limit_value)d个字。"),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["visited_on"].widget.attrs["max"] = timezone.localdate().isoformat()


class _NewHeadMixin(forms.Form):
    """The optional `new_head` choice, among the other current members of the same household."""

    new_head = forms.ModelChoiceField(
        label=_("新户主"),
        queryset=Resident.objects.none(),
        required=False,
        error_messages={"invalid_choice": _("新户主必须是本户其他在册成员。")},
    )

    def __init__(self, *args: Any, candidates: QuerySet[Resident], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["new_head"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 (narrows the type)
        field.queryset = candidates


class ResidentMoveOutForm(_NewHeadMixin):
    moved_out_on = _date_field(_("迁出日期"), required_message=_("请填写迁出日期。"))
    reason = forms.CharField(
        label=_("迁出原因"),
        max_length=LIFECYCLE_REASON_MAX_LENGTH,
        error_messages={"required": _("请填写迁出原因。"), "max_length": _("迁出原因不能超过%(limit_value)d个字。")},
    )


class ResidentDeathForm(_NewHeadMixin):
    died_on = _date_field(_("死亡日期"), required_message=_("请填写死亡日期。"))


class HouseholdMoveOutForm(forms.Form):
    moved_out_on = _date_field(_("迁出日期"), required_message=_("请填写迁出日期。"))
    reason = forms.CharField(
        label=_("迁出原因"),
        max_length=LIFECYCLE_REASON_MAX_LENGTH,
        required=False,
        error_messages={"max_length": _("迁出原因不能超过%(limit_value)d个字。")},
    )
