from django.urls import path

from gridgov.council import views, views_resident

app_name = "council"
urlpatterns = [
    path("", views.meeting_list, name="meeting_list"),
    path("new/", views.meeting_new, name="meeting_new"),
    path("actions/", views.action_list, name="action_list"),
    path("<int:meeting_id>/", views.meeting_detail, name="meeting_detail"),
    path("<int:meeting_id>/attendees/", views.attendee_add_view, name="attendee_add"),
    path("<int:meeting_id>/attendance/", views.attendance_view, name="attendance"),
    path("<int:meeting_id>/agenda/", views.agenda_add_view, name="agenda_add"),
    path("<int:meeting_id>/minutes/", views.minutes_view, name="minutes"),
    path("agenda/<int:item_id>/decisions/", views.decision_add_view, name="decision_add"),
    path("decisions/<int:decision_id>/actions/", views.action_add_view, name="action_add"),
    path("actions/<int:action_id>/done/", views.action_done_view, name="action_done"),
    path("r/", views_resident.notice, name="resident_notice"),
    path("r/propose/", views_resident.propose, name="resident_propose"),
    path("r/proposals/<int:proposal_id>/support/", views_resident.support, name="resident_support"),
]
