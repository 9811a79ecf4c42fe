from django.urls import path

from gridgov.areas import views

app_name = "areas"
urlpatterns = [
    path("", views.home, name="home"),
    path("<str:code>/", views.detail, name="detail"),
    path("<str:code>/children.geojson", views.children_geojson, name="children_geojson"),
    path("<str:code>/export.geojson", views.export_geojson, name="export_geojson"),
]
