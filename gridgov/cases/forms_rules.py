"""Forms of the case-rules pages: they parse the input; the config services decide what is allowed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from gridgov.areas.models import Area
from gridgov.cases.choices import TimeUnit
from gridgov.cases.models import Category, SlaPolicy
from gridgov.cases.services.config import CATEGORY_NAME_MAX_LENGTH, SLA_LIMIT_FIELDS, SLA_LIMIT_MAX


def form_error_text(form: forms.Form) -> str:
    """All of a form's errors as one line, for a flash message."""
    return " ".join(str(message) for messages in form.errors.values() for message in messages)


class CategoryCreateForm(forms.Form):
    segment = forms.CharField(
        label=_("编码段"),
        max_length=2,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "pattern": "[0-9]{2}", "size": 3, "placeholder": "07"}),
        error_messages={"required": _("请填写两位数字的编码段。"), "max_length": _("编码段为两位数字。")},
    )
    name = forms.CharField(
        label=_("类别名称"),
        max_length=CATEGORY_NAME_MAX_LENGTH,
        error_messages={
            "required": _("请填写类别名称。"),
            "max_length": _("类别名称不能超过%(limit_value)d个字。"),
        },
    )


class CategoryRenameForm(forms.Form):
    """Shares its page with the add-a-child form, hence its own element ids."""

    name = forms.CharField(
        label=_("新名称"),
        max_length=CATEGORY_NAME_MAX_LENGTH,
        error_messages={
            "required": _("请填写类别名称。"),
            "max_length": _("类别名称不能超过%(limit_value)d个字。"),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_rename_%s")
        super().__init__(*args, **kwargs)


def _limit_field(label: Any) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        max_digits=6,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "max": str(SLA_LIMIT_MAX)}),
        error_messages={
            "required": _("请填写时限。"),
            "invalid": _("时限应为数字。"),
            "max_digits": _("时限不能超过9999.99。"),
            "max_whole_digits": _("时限不能超过9999.99。"),
            "max_decimal_places": _("时限最多保留两位小数。"),
        },
    )


class SlaPolicyForm(forms.Form):
    """Unit and the seven limits of one category × urgency; the bounds between them are the service's."""

    unit = forms.ChoiceField(
        label=_("计时方式"),
        choices=TimeUnit.choices,
        error_messages={"required": _("请选择计时方式。"), "invalid_choice": _("未知的计时方式。")},
    )
    first_response = _limit_field(_("首次响应时限"))
    grid_limit = _limit_field(_("网格办理时限"))
    community_limit = _limit_field(_("社区办理时限"))
    town_limit = _limit_field(_("镇街办理时限"))
    department_limit = _limit_field(_("部门办理时限"))
    verification_limit = _limit_field(_("核查时限"))
    close_limit = _limit_field(_("办结时限"))

    @classmethod
    def initial_from(cls, policy: SlaPolicy | None) -> dict[str, Any]:
        if policy is None:
            return {}
        return {"unit": policy.unit, **{name: getattr(policy, name) for name in SLA_LIMIT_FIELDS}}

    def limits(self) -> dict[str, Decimal]:
        return {name: self.cleaned_data[name] for name in SLA_LIMIT_FIELDS}

    def limit_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in SLA_LIMIT_FIELDS]


class DepartmentCreateForm(forms.Form):
    area = forms.ModelChoiceField(
        label=_("所属区域"),
        queryset=Area.objects.none(),
        error_messages={"required": _("请选择所属区域。"), "invalid_choice": _("请在列表中选择所属区域。")},
    )
    code = forms.CharField(
        label=_("部门编码"),
        max_length=32,
        error_messages={"required": _("请填写部门编码。"), "max_length": _("部门编码不能超过%(limit_value)d个字符。")},
    )
    name = forms.CharField(
        label=_("部门名称"),
        max_length=100,
        error_messages={"required": _("请填写部门名称。"), "max_length": _("部门名称不能超过%(limit_value)d个字。")},
    )

    def __init__(self, *args: Any, areas: QuerySet[Area], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["area"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 (narrows the type)
        field.queryset = areas


class DepartmentCategoriesForm(forms.Form):
    categories = forms.ModelMultipleChoiceField(
        label=_("负责的类别"),
        queryset=Category.objects.order_by("code"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("类别“%(value)s”不存在。"), "invalid_pk_value": _("类别编号不正确。")},
    )


class CalendarOverrideForm(forms.Form):
    KIND_CHOICES = (("holiday", _("休息日（节假日）")), ("workday", _("工作日（调休上班）")))

    day = forms.DateField(
        label=_("日期"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": _("请填写日期。"), "invalid": _("日期格式不正确，请按“2027-02-06”填写。")},
    )
    kind = forms.ChoiceField(
        label=_("类型"),
        choices=KIND_CHOICES,
        error_messages={"required": _("请选择类型。"), "invalid_choice": _("未知的类型。")},
    )
    note = forms.CharField(
        label=_("说明"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("如：春节")}),
        error_messages={"max_length": _("说明不能超过%(limit_value)d个字。")},
    )
