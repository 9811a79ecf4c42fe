from django.urls import path

from gridgov.patrols import views

app_name = "patrols"
urlpatterns = [
    path("", views.patrol_home, name="home"),
    path("start/", views.patrol_start_view, name="start"),
    path("log/", views.patrol_log, name="log"),
    path("coverage/", views.coverage_index, name="coverage_index"),
    path("coverage/<str:code>/", views.coverage, name="coverage"),
    path("<int:patrol_id>/", views.patrol_detail, name="detail"),
    path("<int:patrol_id>/checks/<int:item_id>/", views.patrol_check, name="check"),
    path("<int:patrol_id>/households/", views.patrol_households, name="households"),
    path("<int:patrol_id>/visits/", views.patrol_visit, name="visit"),
    path("<int:patrol_id>/findings/", views.patrol_finding, name="finding"),
    path(
        "<int:patrol_id>/findings/<int:finding_id>/<slug:action>/",
        views.patrol_finding_action,
        name="finding_action",
    ),
    path("<int:patrol_id>/photos/<int:photo_id>/", views.patrol_photo, name="photo"),
    path("<int:patrol_id>/finish/", views.patrol_finish_view, name="finish"),
]
