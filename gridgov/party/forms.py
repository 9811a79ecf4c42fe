from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gridgov.party.choices import Employer, MemberSource, PlaqueStatus, Post


class MemberAppointForm(forms.Form):
    resident = forms.TypedChoiceField(label=_("居民党员"), coerce=int, required=False, empty_value=None)
    name = forms.CharField(label=_("姓名（非本辖区居民时填写）"), max_length=50, required=False)
    post = forms.ChoiceField(label=_("职务"), choices=Post.choices)
    employer = forms.ChoiceField(label=_("兼职单位"), choices=Employer.choices, required=False)
    source = forms.ChoiceField(label=_("来源"), choices=MemberSource.choices)
    term_start = forms.DateField(label=_("任期开始"), widget=forms.DateInput(attrs={"type": "date"}))
    term_end = forms.DateField(label=_("任期届满"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, residents: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["resident"].choices = [("", "—"), *residents]  # type: ignore[attr-defined]


class PlaqueForm(forms.Form):
    status = forms.ChoiceField(label=_("挂牌状态"), choices=PlaqueStatus.choices)
    on = forms.DateField(label=_("挂牌日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


class EndTermForm(forms.Form):
    ended_on = forms.DateField(label=_("离任日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("原因"), max_length=200, required=False)


def form_error_text(form: forms.Form) -> str:
    return "；".join(
        f"{form.fields[f].label if f in form.fields else ''}{'：' if f in form.fields else ''}{e}"
        for f, errs in form.errors.items()
        for e in errs
    )


class ChildOrgForm(forms.Form):
    """A sub-organisation of the organisation on the page: what it covers is picked from the parent's area."""

    kind = forms.ChoiceField(label=_("类型"))
    name = forms.CharField(label=_("名称"), max_length=100)
    compounds = forms.TypedMultipleChoiceField(label=_("小区"), coerce=int, required=False)
    buildings = forms.TypedMultipleChoiceField(label=_("楼栋"), coerce=int, required=False)
    household = forms.TypedChoiceField(label=_("中心户"), coerce=int, required=False, empty_value=None)
    covered = forms.TypedMultipleChoiceField(label=_("联系户（10–30 户）"), coerce=int, required=False)

    def __init__(
        self,
        *args: Any,
        kinds: list[tuple[str, str]],
        compounds: list[tuple[int, str]],
        buildings: list[tuple[int, str]],
        households: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kinds  # type: ignore[attr-defined]
        self.fields["compounds"].choices = compounds  # type: ignore[attr-defined]
        self.fields["buildings"].choices = buildings  # type: ignore[attr-defined]
        self.fields["household"].choices = [("", "—"), *households]  # type: ignore[attr-defined]
        self.fields["covered"].choices = households  # type: ignore[attr-defined]
        for name, choices in (("compounds", compounds), ("buildings", buildings), ("household", households)):
            if not choices:
                del self.fields[name]
        if not households:
            del self.fields["covered"]


class ResponsibilityForm(forms.Form):
    grid = forms.TypedChoiceField(label=_("网格"), coerce=int)
    member = forms.TypedChoiceField(label=_("责任人"), coerce=int, required=False, empty_value=None)
    replace = forms.BooleanField(label=_("替换原责任组织"), required=False)

    def __init__(self, *args: Any, grids: list[tuple[int, str]], members: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["grid"].choices = grids  # type: ignore[attr-defined]
        self.fields["member"].choices = [("", "—"), *members]  # type: ignore[attr-defined]
