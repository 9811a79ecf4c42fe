from django.urls import path

from gridgov.notices import views

app_name = "notices"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("read-all/", views.inbox_read_all, name="read_all"),
    path("<int:message_id>/open/", views.inbox_open, name="open"),
    path("<int:message_id>/read/", views.inbox_read, name="read"),
]
