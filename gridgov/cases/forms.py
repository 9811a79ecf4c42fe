"""Forms of the case pages. They parse the input; the services decide what is allowed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.models import Department
from gridgov.areas.models import Area
from gridgov.cases.choices import CaseKind, CaseSource, CloseReason, Rating, Urgency
from gridgov.cases.models import Category

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

NOTE_MAX_LENGTH = 2000


class MultipleFileInput(forms.ClearableFileInput):
    """Several files at once; tells the page's preview script the size limit."""

    allow_multiple_selected = True

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"].setdefault("data-max-bytes", str(settings.CASE_ATTACHMENT_MAX_BYTES))
        return context


class PhoneInput(forms.TextInput):
    """A phone number field that never echoes what was typed: a page re-shown after
    an error must not carry the plaintext number."""

    input_type = "tel"

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        return super().get_context(name, None, attrs)


class PhotosField(forms.FileField):
    """Zero or more files under one name; their content is checked by the service."""

    def __init__(self, *, label: StrOrPromise, camera: bool = False, **kwargs: Any) -> None:
        attrs = {
            "accept": "image/*",
            # Read by static/js/photo-preview.js: previews of the picked photos before they are sent.
            "data-photo-input": "",
            "data-too-big-label": _("超过大小限制，无法上传"),
        }
        if camera:
            attrs["capture"] = "environment"
        kwargs.setdefault("widget", MultipleFileInput(attrs=attrs))
        kwargs.setdefault("required", False)
        super().__init__(label=label, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        files = data if isinstance(data, list | tuple) else [data]
        return [cleaned for cleaned in (single(item, initial) for item in files if item) if cleaned]


def _text(
    label: StrOrPromise,
    *,
    required_message: StrOrPromise = "",
    rows: int = 2,
    placeholder: StrOrPromise = "",
) -> forms.CharField:
    """A note or reason; required when `required_message` is given."""
    attrs: dict[str, Any] = {"rows": rows}
    if placeholder:
        attrs["placeholder"] = placeholder
    return forms.CharField(
        label=label,
        required=bool(required_message),
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs=attrs),
        error_messages={
            "required": required_message,
            "max_length": _("内容不能超过%(limit_value)d个字。"),
        },
    )


def form_error_text(form: forms.Form) -> str:
    """All of a form's errors as one line."""
    return " ".join(str(message) for messages in form.errors.values() for message in messages)


# --- One small form per action of `case_actions_for` ------------------------------


class NoteForm(forms.Form):
    """accept, sign_for, resume: an optional note."""

    note = _text(_("说明"), rows=1)


class ReasonForm(forms.Form):
    """escalate, send_back, reopen, suspend, void: a required reason."""

    reason = _text(_("理由"), required_message=_("请填写理由。"))

    def __init__(self, *args: Any, reason_label: StrOrPromise = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if reason_label:
            field = self.fields["reason"]
            field.label = reason_label
            field.error_messages["required"] = _("请填写%(label)s。") % {"label": reason_label}


class DepartmentChoiceField(forms.ModelChoiceField[Department]):
    def label_from_instance(self, obj: Department) -> str:
        if getattr(obj, "owns_category", False):
            return _("%(name)s（对口部门）") % {"name": obj.name}
        return obj.name


class GridChoiceField(forms.ModelChoiceField[Area]):
    def label_from_instance(self, obj: Area) -> str:
        return f"{obj.parent.name} · {obj.name}" if obj.parent is not None else obj.name


class DispatchForm(forms.Form):
    department = DepartmentChoiceField(
        label=_("承办部门"),
        queryset=Department.objects.none(),
        empty_label=_("请选择部门"),
        error_messages={"required": _("请选择承办部门。"), "invalid_choice": _("请从列表中选择承办部门。")},
    )
    note = _text(_("派遣说明"), rows=1)

    def __init__(self, *args: Any, departments: QuerySet[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["department"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 (narrowing for mypy)
        field.queryset = departments


class ReportBackForm(forms.Form):
    result = _text(
        _("办理结果"), required_message=_("请填写办理结果。"), rows=3, placeholder=_("如：已联系物业清运，现场已清理")
    )
    photos = PhotosField(label=_("现场照片"), camera=True)


class ExtensionRequestForm(forms.Form):
    amount = forms.DecimalField(
        label=_("延期时长"),
        min_value=0.5,
        max_value=999,
        decimal_places=2,
        error_messages={
            "required": _("请填写延期时长。"),
            "invalid": _("延期时长应为数字。"),
            "min_value": _("延期时长应大于0。"),
            "max_value": _("延期时长不能超过999。"),
            "max_decimal_places": _("延期时长最多保留两位小数。"),
        },
    )
    reason = _text(_("延期理由"), required_message=_("请填写延期理由。"))

    def __init__(self, *args: Any, unit_label: StrOrPromise = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if unit_label:
            self.fields["amount"].help_text = _("单位：%(unit)s") % {"unit": unit_label}


class ExtensionDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("审批结果"),
        choices=[("approve", _("同意延期")), ("refuse", _("不同意延期"))],
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择是否同意延期。"), "invalid_choice": _("请选择是否同意延期。")},
    )
    note = _text(_("审批意见"), rows=1, placeholder=_("不同意时必填"))


class VerifyForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("核查结果"),
        choices=[("pass", _("通过")), ("fail", _("未通过"))],
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择核查结果。"), "invalid_choice": _("请选择核查结果。")},
    )
    close_reason = forms.ChoiceField(
        label=_("结案方式"),
        choices=[
            (CloseReason.FIXED.value, CloseReason.FIXED.label),
            (CloseReason.NOT_FIXED.value, CloseReason.NOT_FIXED.label),
        ],
        initial=CloseReason.FIXED,
        error_messages={"invalid_choice": _("核查通过后只能以“已解决”或“未解决（已说明）”结案。")},
    )
    note = _text(_("核查说明"), placeholder=_("未通过或未解决时必填"))
    photos = PhotosField(label=_("现场照片"), camera=True)


class CloseForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("结案方式"),
        choices=[
            (CloseReason.DUPLICATE.value, CloseReason.DUPLICATE.label),
            (CloseReason.NOT_RESPONSIBLE.value, CloseReason.NOT_RESPONSIBLE.label),
            (CloseReason.NOT_FIXED.value, CloseReason.NOT_FIXED.label),
        ],
        error_messages={"required": _("请选择结案方式。"), "invalid_choice": _("请选择结案方式。")},
    )
    note = _text(_("结案说明"), required_message=_("请填写结案说明。"))
    merged_into = forms.CharField(
        label=_("合并到的事项编号"),
        required=False,
        max_length=20,
        help_text=_("重复件必填"),
        error_messages={"max_length": _("事项编号不能超过%(limit_value)d位。")},
    )


class RateForm(forms.Form):
    rating = forms.ChoiceField(
        label=_("评价"),
        choices=Rating.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("请选择满意、基本满意或不满意。"),
            "invalid_choice": _("请选择满意、基本满意或不满意。"),
        },
    )
    note = _text(_("评价意见"), rows=1)


# --- Several cases of the queue at once ---------------------------------------------

BULK_MAX_CASES = 100


class CaseIdsField(forms.Field):
    """The ticked cases of a queue page (`case` repeated); which of them the user may see
    and act on is decided by the view and the services."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        ids: list[int] = []
        for item in value or []:
            try:
                ids.append(int(item))
            except (TypeError, ValueError) as error:
                raise forms.ValidationError(_("所选事项无效，请刷新后重试。")) from error
        return list(dict.fromkeys(ids))

    def validate(self, value: Any) -> None:
        if not value:
            raise forms.ValidationError(_("请先勾选事项。"))
        if len(value) > BULK_MAX_CASES:
            raise forms.ValidationError(_("一次最多处理%(limit)d件事项。") % {"limit": BULK_MAX_CASES})


class BulkActionForm(forms.Form):
    action = forms.ChoiceField(
        label=_("批量操作"),
        error_messages={"required": _("请选择批量操作。"), "invalid_choice": _("请选择批量操作。")},
    )
    department = DepartmentChoiceField(
        label=_("承办部门"),
        queryset=Department.objects.none(),
        required=False,
        empty_label=_("请选择部门"),
        error_messages={"invalid_choice": _("请从列表中选择承办部门。")},
    )
    note = _text(_("说明"), rows=1)
    case = CaseIdsField(label=_("事项"))

    def __init__(
        self,
        *args: Any,
        actions: Sequence[tuple[str, StrOrPromise]],
        departments: QuerySet[Department],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        action_field = self.fields["action"]
        assert isinstance(action_field, forms.ChoiceField)  # noqa: S101 (narrowing for mypy)
        action_field.choices = list(actions)
        department_field = self.fields["department"]
        assert isinstance(department_field, forms.ModelChoiceField)  # noqa: S101 (narrowing for mypy)
        department_field.queryset = departments

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (
            cleaned.get("action") == "dispatch"
            and cleaned.get("department") is None
            and "department" not in self.errors
        ):
            self.add_error("department", _("请选择承办部门。"))
        return cleaned


# --- New case -------------------------------------------------------------------


def category_choices(categories: Sequence[Category]) -> list[tuple[str, Any]]:
    """A grouped choice list: one group per top-level category, the category itself first."""
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    for category in categories:
        depth = len(category.code) // 2 - 1
        if depth == 0:
            groups.append((f"{category.code} {category.name}", [(str(category.pk), category.name)]))
        elif groups:
            groups[-1][1].append((str(category.pk), "\u3000" * (depth - 1) + category.name))
    return [("", _("请选择类别")), *groups]


class CaseNewForm(forms.Form):
    source = forms.ChoiceField(
        label=_("来源"), error_messages={"required": _("请选择来源。"), "invalid_choice": _("请选择来源。")}
    )
    kind = forms.ChoiceField(
        label=_("事项类型"),
        choices=CaseKind.choices,
        error_messages={"required": _("请选择事项类型。"), "invalid_choice": _("请选择事项类型。")},
    )
    category = forms.ChoiceField(
        label=_("类别"), error_messages={"required": _("请选择类别。"), "invalid_choice": _("请选择类别。")}
    )
    urgency = forms.ChoiceField(
        label=_("紧急程度"),
        choices=Urgency.choices,
        initial=Urgency.NORMAL,
        error_messages={"required": _("请选择紧急程度。"), "invalid_choice": _("请选择紧急程度。")},
    )
    title = forms.CharField(
        label=_("标题"),
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("如：小区东门垃圾堆放")}),
        error_messages={"required": _("请填写标题。"), "max_length": _("标题不能超过%(limit_value)d个字。")},
    )
    description = forms.CharField(
        label=_("问题描述"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("请填写问题描述。"), "max_length": _("问题描述不能超过%(limit_value)d个字。")},
    )
    grid = GridChoiceField(
        label=_("所在网格"),
        queryset=Area.objects.none(),
        required=False,
        empty_label=_("在地图上选点，或选择网格"),
        error_messages={"invalid_choice": _("请从列表中选择您负责区域内的网格。")},
    )
    longitude = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-180, max_value=180)
    latitude = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-90, max_value=90)
    address = forms.CharField(
        label=_("地点"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("如：幸福小区3号楼东侧")}),
        error_messages={"max_length": _("地点不能超过%(limit_value)d个字。")},
    )
    reporter_name = forms.CharField(
        label=_("反映人"),
        required=False,
        max_length=50,
        error_messages={"max_length": _("反映人姓名不能超过%(limit_value)d个字。")},
    )
    reporter_phone = forms.CharField(
        label=_("联系电话"),
        required=False,
        max_length=20,
        widget=PhoneInput(attrs={"autocomplete": "off"}),
        help_text=_("提交未成功时，出于隐私保护需重新填写。"),
        error_messages={"max_length": _("联系电话不能超过%(limit_value)d位。")},
    )
    is_anonymous = forms.BooleanField(label=_("对办理人员匿名"), required=False)
    photos = PhotosField(label=_("照片"), camera=True)

    def __init__(
        self,
        *args: Any,
        sources: Sequence[str],
        categories: Sequence[Category],
        grids: QuerySet[Area],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.categories = {str(category.pk): category for category in categories}
        source_field = self.fields["source"]
        assert isinstance(source_field, forms.ChoiceField)  # noqa: S101 (narrowing for mypy)
        source_field.choices = [(source, CaseSource(source).label) for source in sources]
        if len(sources) == 1:
            source_field.initial = sources[0]
            source_field.widget = forms.HiddenInput()
        category_field = self.fields["category"]
        assert isinstance(category_field, forms.ChoiceField)  # noqa: S101 (narrowing for mypy)
        category_field.choices = category_choices(categories)
        grid_field = self.fields["grid"]
        assert isinstance(grid_field, forms.ModelChoiceField)  # noqa: S101 (narrowing for mypy)
        grid_field.queryset = grids
        if list(sources) == [CaseSource.RESIDENT]:
            kind_field = self.fields["kind"]
            assert isinstance(kind_field, forms.ChoiceField)  # noqa: S101 (narrowing for mypy)
            kind_field.choices = [choice for choice in CaseKind.choices if choice[0] != CaseKind.PATROL_FINDING]
            del self.fields["reporter_name"]

    def clean_category(self) -> Category:
        return self.categories[self.cleaned_data["category"]]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (cleaned.get("longitude") is None) != (cleaned.get("latitude") is None):
            raise forms.ValidationError(_("经度和纬度需同时填写。"))
        return cleaned
