from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from gridgov.credits.choices import RuleCategory


class RecordForm(forms.Form):
    rule_code = forms.ChoiceField(label=_("规则"), error_messages={"required": _("请选择规则。")})
    points = forms.IntegerField(label=_("分值"), error_messages={"required": _("请填写分值。")})
    occurred_on = forms.DateField(
        label=_("发生日期"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": _("请填写日期。")},
    )
    resident = forms.TypedChoiceField(label=_("行为人"), coerce=int, required=False, empty_value=None)
    note = forms.CharField(label=_("说明"), max_length=200, required=False)
    evidence = forms.FileField(
        label=_("证据照片"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )

    def __init__(self, *args: object, rules: list, residents: list, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["rule_code"].choices = [  # type: ignore[attr-defined]
            (rule.code, f"{rule.get_category_display()} · {rule.name}（{rule.points_min}~{rule.points_max}）")
            for rule in rules
        ]
        resident_choices = [("", _("（全户）")), *[(r.pk, r.name) for r in residents]]
        self.fields["resident"].choices = resident_choices  # type: ignore[attr-defined]


class AppealForm(forms.Form):
    reason = forms.CharField(
        label=_("申诉理由"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("请写明申诉理由。")},
    )


class RuleForm(forms.Form):
    code = forms.CharField(label=_("编码"), max_length=32, error_messages={"required": _("请填写编码。")})
    name = forms.CharField(label=_("名称"), max_length=100, error_messages={"required": _("请填写规则名称。")})
    category = forms.ChoiceField(label=_("类别"), choices=RuleCategory.choices)
    points_min = forms.IntegerField(label=_("最低分值"), error_messages={"required": _("请填写最低分值。")})
    points_max = forms.IntegerField(label=_("最高分值"), error_messages={"required": _("请填写最高分值。")})
    evidence_required = forms.BooleanField(label=_("须附证据照片"), required=False)
    yearly_cap = forms.IntegerField(
        label=_("每户年度上限"), required=False, min_value=1, help_text=_("不设上限请留空。")
    )
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)


class ItemForm(forms.Form):
    area = forms.TypedChoiceField(label=_("提供区域"), coerce=int, error_messages={"required": _("请选择区域。")})
    name = forms.CharField(label=_("名称"), max_length=100, error_messages={"required": _("请填写物品名称。")})
    points_cost = forms.IntegerField(
        label=_("所需积分"), min_value=1, error_messages={"required": _("请填写所需积分。")}
    )
    stock = forms.IntegerField(label=_("库存"), min_value=0, error_messages={"required": _("请填写库存。")})
    active = forms.BooleanField(label=_("上架"), required=False, initial=True)

    def __init__(self, *args: object, areas: list, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["area"].choices = [(area.pk, area.name) for area in areas]  # type: ignore[attr-defined]
