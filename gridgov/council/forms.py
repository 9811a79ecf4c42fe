from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gridgov.council.choices import AgendaSource, AttendeeCategory, MeetingKind


class MeetingForm(forms.Form):
    kind = forms.ChoiceField(label=_("会议类型"), choices=MeetingKind.choices)
    compound = forms.TypedChoiceField(label=_("小区"), coerce=int)
    title = forms.CharField(label=_("议题概要"), max_length=200)
    starts_at = forms.DateTimeField(label=_("时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    place = forms.CharField(label=_("地点"), max_length=200)
    convener_name = forms.CharField(label=_("召集人"), max_length=50, required=False)

    def __init__(self, *args: Any, compounds: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["compound"].choices = compounds  # type: ignore[attr-defined]


class AttendeeForm(forms.Form):
    category = forms.ChoiceField(label=_("类别"), choices=AttendeeCategory.choices)
    name = forms.CharField(label=_("姓名"), max_length=50)


class AgendaForm(forms.Form):
    source = forms.ChoiceField(label=_("来源"), choices=AgendaSource.choices)
    case_number = forms.CharField(label=_("事项编号（来源为诉求事项时）"), max_length=40, required=False)
    finding = forms.IntegerField(label=_("巡查发现编号（来源为巡查时）"), required=False)
    title = forms.CharField(label=_("议题"), max_length=200, required=False)
    proposer_name = forms.CharField(label=_("提议人（居民提议时）"), max_length=50, required=False)
    description = forms.CharField(
        label=_("说明"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class MinutesForm(forms.Form):
    text = forms.CharField(label=_("会议记录"), max_length=20000, widget=forms.Textarea(attrs={"rows": 6}))


class DecisionForm(forms.Form):
    text = forms.CharField(label=_("决议内容"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))
    votes_for = forms.IntegerField(label=_("赞成"), min_value=0, initial=0)
    votes_against = forms.IntegerField(label=_("反对"), min_value=0, initial=0)
    votes_abstain = forms.IntegerField(label=_("弃权"), min_value=0, initial=0)
    fund_spent = forms.DecimalField(
        label=_("为民服务经费支出（元）"), min_value=0, max_digits=12, decimal_places=2, required=False
    )
    fund_note = forms.CharField(label=_("经费用途"), max_length=200, required=False)


class ActionForm(forms.Form):
    title = forms.CharField(label=_("落实事项"), max_length=200)
    owner_name = forms.CharField(label=_("责任人"), max_length=50)
    due_on = forms.DateField(label=_("完成期限"), widget=forms.DateInput(attrs={"type": "date"}))


class ActionDoneForm(forms.Form):
    note = forms.CharField(label=_("完成情况"), max_length=500, required=False)


def form_error_text(form: forms.Form) -> str:
    return "；".join(str(e) for errors in form.errors.values() for e in errors)
