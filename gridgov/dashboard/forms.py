"""The dashboard's filter: area, period and category, read from the query string."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.cases.indicators import MAX_PERIOD_DAYS

INDICATORS: dict[str, Any] = {
    "intake": _("受理量"),
    "overdue_open": _("超时未办"),
    "on_time_rate": _("按期结案率"),
    "satisfaction_rate": _("满意率"),
    "first_response_mean_minutes": _("平均首次响应（分钟）"),
    "grid_settled_rate": _("网格内办结率"),
}


@dataclass(frozen=True)
class Filters:
    area: str
    date_from: date
    date_to: date
    category: str
    indicator: str


class FilterForm(forms.Form):
    area = forms.CharField(label=_("区域编码"), required=False, max_length=18)
    date_from = forms.DateField(label=_("起始日期"), required=False)
    date_to = forms.DateField(label=_("截止日期"), required=False)
    category = forms.CharField(
        label=_("类别"),
        required=False,
        max_length=20,
        validators=[RegexValidator(r"^(\d\d)+$", _("类别编码由两位一段的数字组成。"))],
    )
    indicator = forms.ChoiceField(label=_("着色指标"), required=False, choices=list(INDICATORS.items()))

    def __init__(self, data: QueryDict | None = None) -> None:
        # Accept both ?from=&to= (as the API) and ?date_from=&date_to=.
        if data is not None:
            data = data.copy()
            for short, name in (("from", "date_from"), ("to", "date_to")):
                value = data.get(short)
                if value and not data.get(name):
                    data[name] = value
        super().__init__(data)

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        today = timezone.localdate()
        date_to = cleaned.get("date_to") or today
        date_from = cleaned.get("date_from") or date_to.replace(day=1)
        if date_to < date_from:
            raise ValidationError(_("结束日期不能早于开始日期。"))
        if (date_to - date_from).days + 1 > MAX_PERIOD_DAYS:
            raise ValidationError(_("统计时段最长为%(days)d天，请缩短时段。") % {"days": MAX_PERIOD_DAYS})
        cleaned["date_from"], cleaned["date_to"] = date_from, date_to
        return cleaned

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(
            area=(data.get("area") or "").strip(),
            date_from=data["date_from"],
            date_to=data["date_to"],
            category=data.get("category") or "",
            indicator=data.get("indicator") or "intake",
        )


def tile_periods(today: date) -> list[tuple[str, date, date]]:
    """Today, this week (from Monday) and this month, each up to today."""
    return [
        (str(_("今日")), today, today),
        (str(_("本周")), today - timedelta(days=today.weekday()), today),
        (str(_("本月")), today.replace(day=1), today),
    ]
