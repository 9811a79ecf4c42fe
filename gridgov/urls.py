from django.urls import include, path
from django.views.generic import RedirectView

from gridgov.api.api import api
from gridgov.core.health import health

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="areas:home", permanent=False)),
    path("accounts/", include("gridgov.accounts.urls")),
    path("areas/", include("gridgov.areas.urls")),
    path("registry/excel/", include("gridgov.registry.urls_excel")),
    path("registry/", include("gridgov.registry.urls")),
    path("cases/rules/", include("gridgov.cases.urls_rules")),
    path("cases/", include("gridgov.cases.urls")),
    # The grid worker's phone home page: today's cases, new reports, the patrol.
    path("today/", include("gridgov.cases.urls_today")),
    path("inbox/", include("gridgov.notices.urls")),
    path("patrols/", include("gridgov.patrols.urls")),
    path("dashboard/", include("gridgov.dashboard.urls")),
    path("tasks/", include("gridgov.tasks.urls")),
    path("party/", include("gridgov.party.urls")),
    path("council/", include("gridgov.council.urls")),
    path("credits/", include("gridgov.credits.urls")),
    path("public-assets/", include("gridgov.assets.urls")),
    # The residents' pages: short addresses, printed on compound posters as QR codes.
    path("r/", include("gridgov.portal.urls")),
    path("api/v1/", api.urls),
    path("healthz", health, name="health"),
]
