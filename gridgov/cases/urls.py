from django.urls import path

from gridgov.cases import views, views_submit

app_name = "cases"
urlpatterns = [
    path("", views.case_queue, name="queue"),
    path("new/", views_submit.case_new, name="new"),
    path("bulk/", views.case_bulk, name="bulk"),
    path("<int:case_id>/", views.case_detail, name="detail"),
    path("<int:case_id>/attachments/<int:attachment_id>/", views_submit.case_attachment, name="attachment"),
    path("<int:case_id>/<slug:action>/", views.case_action, name="action"),
]
