"""Forms of the patrol pages: input parsing only; the rules live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gridgov.cases.forms import PhotosField
from gridgov.cases.models import Category
from gridgov.patrols.models import CheckItem

FINDING_THEN_CHOICES = [
    ("case", _("转为事项")),
    ("settle", _("现场已处置")),
    ("later", _("稍后处置")),
]


class CategoryChoiceField(forms.ModelChoiceField[Category]):
    def label_from_instance(self, obj: Category) -> str:
        # Subcategories indented under their top level, in code order.
        return ("\u3000" * (len(obj.code) // 2 - 1)) + obj.name


class FindingForm(forms.Form):
    check_item = forms.ModelChoiceField(
        queryset=CheckItem.objects.filter(is_active=True), required=False, label=_("检查项"), empty_label=_("（无）")
    )
    category = CategoryChoiceField(
        queryset=Category.objects.filter(is_active=True).order_by("code"),
        label=_("问题类别"),
        empty_label=None,
        error_messages={"required": _("请选择问题类别。"), "invalid_choice": _("请选择问题类别。")},
    )
    description = forms.CharField(
        label=_("问题描述"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("例如：3号楼东侧工地围挡螺丝松动")}),
        error_messages={"required": _("请填写问题描述。")},
    )
    address = forms.CharField(label=_("地点"), max_length=200, required=False)
    longitude = forms.FloatField(required=False, widget=forms.HiddenInput(attrs={"data-geo-lon": ""}))
    latitude = forms.FloatField(required=False, widget=forms.HiddenInput(attrs={"data-geo-lat": ""}))
    photos = PhotosField(label=_("现场照片"), camera=True)
    result = forms.CharField(
        label=_("现场处置结果"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("现场已处置时填写，例如：已督促商户撤除液化气瓶")}),
    )
    then = forms.ChoiceField(choices=FINDING_THEN_CHOICES, initial="case", widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["photos"].widget.attrs.update({"data-photo-preview": ""})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("then") == "settle" and not (data.get("result") or "").strip():
            self.add_error("result", _("请填写现场处置结果。"))
        return data


class SettleForm(forms.Form):
    result = forms.CharField(
        label=_("现场处置结果"), max_length=2000, error_messages={"required": _("请填写现场处置结果。")}
    )


class FinishForm(forms.Form):
    notes = forms.CharField(
        label=_("巡查记录"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("今天巡查了哪些地方、发现了什么、当天怎么处理的")}),
    )
    route = forms.CharField(required=False, widget=forms.HiddenInput(attrs={"data-route-field": ""}))


class VisitForm(forms.Form):
    household = forms.IntegerField(required=False, widget=forms.HiddenInput)
    place = forms.CharField(label=_("其他地点"), max_length=100, required=False)
    note = forms.CharField(label=_("情况"), max_length=200, required=False)
