from django.urls import path

from gridgov.registry import views

app_name = "registry"
urlpatterns = [
    path("", views.household_list, name="household_list"),
    path("households/<int:household_id>/", views.household_detail, name="household_detail"),
    path("residents/<int:resident_id>/reveal/", views.resident_reveal_view, name="resident_reveal"),
    path("areas/<str:code>/tags/", views.area_tags, name="area_tags"),
]
