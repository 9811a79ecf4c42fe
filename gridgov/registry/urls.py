from django.urls import path

from gridgov.registry import views

app_name = "registry"
urlpatterns = [
    path("", views.household_list, name="household_list"),
    path("households/<int:household_id>/", views.household_detail, name="household_detail"),
    path("residents/<int:resident_id>/reveal/", views.resident_reveal_view, name="resident_reveal"),
    path("residents/<int:resident_id>/move-out/", views.resident_move_out_view, name="resident_move_out"),
    path("residents/<int:resident_id>/death/", views.resident_death_view, name="resident_record_death"),
    path("households/<int:household_id>/visits/", views.household_visit_view, name="household_visit_record"),
    path("households/<int:household_id>/move-out/", views.household_move_out_view, name="household_move_out"),
    path("areas/<str:code>/tags/", views.area_tags, name="area_tags"),
]
