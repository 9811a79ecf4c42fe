"""Writes for cases. Import from here: `from gridgov.cases.services import case_accept`.

- `config`: the county's rules (calendar overrides, categories, SLA policies, departments' categories)
- `lifecycle`: one function per step of a case, each one transaction with its timeline row
- `sweep`: the SLA clock run by the worker
"""

from gridgov.cases.services.config import (
    SLA_LIMIT_FIELDS,
    calendar_override_clear,
    calendar_override_set,
    category_create,
    category_rename,
    category_set_active,
    department_categories_set,
    sla_policy_clear,
    sla_policy_set,
)
from gridgov.cases.services.lifecycle import (
    REPORTER_PHONE_FIELD,
    CaseInput,
    attachments_validate,
    case_accept,
    case_close,
    case_decide_extension,
    case_dispatch,
    case_escalate,
    case_link,
    case_note,
    case_rate,
    case_reopen,
    case_report_back,
    case_request_extension,
    case_resume,
    case_send_back,
    case_sign_for,
    case_submit,
    case_suspend,
    case_verify,
    case_void,
)
from gridgov.cases.services.sweep import SweepResult, sla_sweep

__all__ = [
    "REPORTER_PHONE_FIELD",
    "SLA_LIMIT_FIELDS",
    "CaseInput",
    "SweepResult",
    "attachments_validate",
    "calendar_override_clear",
    "calendar_override_set",
    "case_accept",
    "case_close",
    "case_decide_extension",
    "case_dispatch",
    "case_escalate",
    "case_link",
    "case_rate",
    "case_reopen",
    "case_report_back",
    "case_request_extension",
    "case_resume",
    "case_send_back",
    "case_sign_for",
    "case_submit",
    "case_suspend",
    "case_verify",
    "case_note",
    "case_void",
    "category_create",
    "category_rename",
    "category_set_active",
    "department_categories_set",
    "sla_policy_clear",
    "sla_policy_set",
    "sla_sweep",
]
