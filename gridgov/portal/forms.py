"""Forms of the residents' pages: they parse input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gridgov.cases.choices import Rating
from gridgov.cases.forms import PhoneInput, PhotosField
from gridgov.portal.choices import PLAIN_CATEGORIES, LocationMode


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("手机号"),
        max_length=20,
        widget=PhoneInput(attrs={"autocomplete": "tel", "inputmode": "tel", "placeholder": _("请输入11位手机号")}),
        error_messages={"required": _("请输入手机号。")},
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("验证码"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9]{6}",
                "placeholder": "______",
            }
        ),
        error_messages={
            "required": _("请输入短信中的6位验证码。"),
            "min_length": _("验证码是6位数字。"),
            "max_length": _("验证码是6位数字。"),
        },
    )


class ReportForm(forms.Form):
    problem = forms.ChoiceField(
        label=_("遇到了什么问题？"),
        choices=[(item.key, item.label) for item in PLAIN_CATEGORIES],
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择遇到的问题。"), "invalid_choice": _("请选择遇到的问题。")},
    )
    description = forms.CharField(
        label=_("说说具体情况"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": _("例如：3号楼2单元楼道堆满纸箱，已经一周了")}),
        error_messages={"required": _("请写几句具体情况。"), "max_length": _("请不要超过%(limit_value)d个字。")},
    )
    photos = PhotosField(label=_("拍照（可选）"), camera=True)
    location = forms.ChoiceField(
        label=_("问题在哪里？"),
        choices=[(LocationMode.COMPOUND, _("在我的小区")), (LocationMode.PIN, _("在地图上选点"))],
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择问题所在位置。"), "invalid_choice": _("请选择问题所在位置。")},
    )
    longitude = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-180, max_value=180)
    latitude = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-90, max_value=90)
    place_detail = forms.CharField(
        label=_("具体位置（可选）"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("例如：5号楼东侧")}),
    )
    reporter_name = forms.CharField(
        label=_("怎么称呼您（可选）"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"placeholder": _("例如：王女士")}),
    )
    is_anonymous = forms.BooleanField(label=_("不让办理人员看到我的称呼和电话"), required=False)

    def __init__(self, *args: Any, has_compound: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        location = self.fields["location"]
        assert isinstance(location, forms.ChoiceField)  # noqa: S101 (narrowing for mypy)
        if not has_compound:
            location.choices = [(LocationMode.PIN, _("在地图上选点"))]
            location.initial = LocationMode.PIN
        else:
            location.initial = LocationMode.COMPOUND


class RateForm(forms.Form):
    rating = forms.ChoiceField(
        label=_("您对处理结果满意吗？"),
        choices=Rating.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("请选择满意、基本满意或不满意。"),
            "invalid_choice": _("请选择满意、基本满意或不满意。"),
        },
    )
    note = forms.CharField(
        label=_("还想说的话（可选）"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("哪里没有解决？"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("请说明哪里没有解决。")},
    )
