from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.assets.choices import AssetKind, AssetStatus, LedgerItem, PaymentPeriod


class AssetForm(forms.Form):
    kind = forms.ChoiceField(label=_("类别"), choices=AssetKind.choices)
    name = forms.CharField(label=_("名称"), max_length=100)
    location = forms.CharField(label=_("位置"), max_length=200)
    floor_area = forms.DecimalField(label=_("面积（㎡）"), required=False, min_value=0, decimal_places=2)
    current_use = forms.CharField(label=_("现用途"), max_length=100, required=False)
    occupant = forms.CharField(label=_("使用/占用方"), max_length=100, required=False)
    status = forms.ChoiceField(label=_("状态"), choices=AssetStatus.choices)
    photos = forms.FileField(label=_("照片/证照"), required=False)


class LedgerForm(forms.Form):
    item = forms.ChoiceField(label=_("科目"), choices=LedgerItem.choices)
    amount = forms.CharField(label=_("金额（元）"), max_length=20)
    occurred_on = forms.DateField(label=_("发生日期"), widget=forms.DateInput(attrs={"type": "date"}))
    description = forms.CharField(label=_("摘要"), max_length=200)
    decision = forms.TypedChoiceField(
        label=_("议事决议（支出时选择）"),
        coerce=int,
        required=False,
        empty_value=None,
        error_messages={"invalid_choice": _("所选议事决议不是本小区议事会议作出的，不能作为这笔收支的依据。")},
    )
    decision_reference = forms.CharField(
        label=_("议事决定（无系统决议时按原台账填写）"), max_length=100, required=False
    )
    voucher = forms.FileField(label=_("凭证照片"), required=False)

    def __init__(self, *args: object, decisions: Any = (), **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["decision"].choices = [  # type: ignore[attr-defined]
            ("", _("（无）")),
            *[
                (
                    decision.pk,
                    f"{timezone.localdate(decision.decided_at):%Y-%m-%d} {decision.agenda_item.title}",
                )
                for decision in decisions
            ],
        ]


class ContractForm(forms.Form):
    party = forms.CharField(label=_("承租/使用方"), max_length=100)
    start_on = forms.DateField(label=_("起始日期"), widget=forms.DateInput(attrs={"type": "date"}))
    end_on = forms.DateField(label=_("终止日期"), widget=forms.DateInput(attrs={"type": "date"}))
    rent = forms.CharField(label=_("每期租金（元）"), max_length=20)
    period = forms.ChoiceField(label=_("缴费周期"), choices=PaymentPeriod.choices)
