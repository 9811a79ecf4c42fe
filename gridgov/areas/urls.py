from django.urls import path

from gridgov.areas import views

app_name = "areas"
urlpatterns = [
    path("", views.home, name="home"),
    path("<str:code>/", views.detail, name="detail"),
    path("<str:code>/children.geojson", views.children_geojson, name="children_geojson"),
    path("<str:code>/export.geojson", views.export_geojson, name="export_geojson"),
    path("<str:code>/microgrids/plan/", views.microgrid_plan_page, name="microgrid_plan"),
    path("<str:code>/microgrids/apply/", views.microgrid_plan_apply_view, name="microgrid_apply"),
    path("<str:code>/grids/plan/", views.grid_plan_page, name="grid_plan"),
    path("<str:code>/grids/apply/", views.grid_plan_apply_view, name="grid_apply"),
]
