"""The household band of a micro-grid or general-grid proposal (and the fingerprint when applying one)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gridgov.areas.gridding_selectors import MICRO_BAND_DEFAULT

MAX_HOUSEHOLDS = 5000


class MicroBandForm(forms.Form):
    low = forms.IntegerField(label=_("最少户数"), min_value=0, max_value=MAX_HOUSEHOLDS)
    high = forms.IntegerField(label=_("最多户数"), min_value=1, max_value=MAX_HOUSEHOLDS)

    @classmethod
    def from_query(cls, data: Any, default: tuple[int, int] = MICRO_BAND_DEFAULT) -> MicroBandForm:
        """Bound to the query string, falling back to the default band when it has none."""
        if "low" not in data and "high" not in data:
            low, high = default
            return cls({"low": low, "high": high})
        return cls(data)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        low, high = cleaned.get("low"), cleaned.get("high")
        if low is not None and high is not None and low > high:
            raise forms.ValidationError(_("最少户数不能大于最多户数。"))
        return cleaned


class MicroApplyForm(MicroBandForm):
    fingerprint = forms.CharField(max_length=64, widget=forms.HiddenInput)
