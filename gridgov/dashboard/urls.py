from django.urls import path

from gridgov.dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.dashboard_home, name="home"),
    path("map/", views.dashboard_map, name="map"),
    path("map/data/", views.dashboard_map_data, name="map_data"),
    path("export.xlsx", views.dashboard_export, name="export"),
    path("report/", views.dashboard_weekly_report, name="report"),
]
