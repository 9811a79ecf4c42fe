from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssetsConfig(AppConfig):
    name = "gridgov.assets"
    label = "assets"
    verbose_name = _("公共资产")
