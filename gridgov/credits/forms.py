from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


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
