from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CreditsConfig(AppConfig):
    name = "gridgov.credits"
    label = "credits"
    verbose_name = _("美德信用积分")
