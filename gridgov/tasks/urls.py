from django.urls import path

from gridgov.tasks import views

app_name = "tasks"
urlpatterns: list = [
    path("", views.task_list, name="list"),
    path("new/", views.task_new, name="new"),
    path("my/", views.my_assignments, name="my"),
    path("<int:task_id>/", views.task_detail, name="detail"),
    path("<int:task_id>/close/", views.task_close_view, name="close"),
    path("<int:task_id>/export.xlsx", views.task_export, name="export"),
    path("assignments/<int:assignment_id>/", views.assignment_detail, name="assignment"),
    path("targets/<int:target_id>/record/", views.target_record_view, name="record"),
    path("emergencies/", views.emergency_list, name="emergencies"),
    path("emergencies/<int:event_id>/", views.emergency_detail, name="emergency"),
    path("emergencies/<int:event_id>/end/", views.emergency_end_view, name="emergency_end"),
    path("emergencies/<int:event_id>/shifts/", views.duty_shift_add_view, name="shift_add"),
    path("resources/", views.resource_map, name="resources"),
    path("resources.geojson", views.resource_geojson, name="resources_geojson"),
]
