from django.urls import include, path
from django.views.generic import RedirectView

from gridgov.api.api import api

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="areas:home", permanent=False)),
    path("accounts/", include("gridgov.accounts.urls")),
    path("areas/", include("gridgov.areas.urls")),
    path("registry/excel/", include("gridgov.registry.urls_excel")),
    path("registry/", include("gridgov.registry.urls")),
    path("cases/rules/", include("gridgov.cases.urls_rules")),
    path("cases/", include("gridgov.cases.urls")),
    path("inbox/", include("gridgov.notices.urls")),
    path("api/v1/", api.urls),
]
