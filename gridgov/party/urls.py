from django.urls import path

from gridgov.party import views

app_name = "party"
urlpatterns = [
    path("", views.org_list, name="org_list"),
    path("coverage/", views.coverage, name="coverage"),
    path("orgs/<int:org_id>/", views.org_detail, name="org_detail"),
    path("orgs/<int:org_id>/children/", views.org_child_create, name="org_child_create"),
    path("orgs/<int:org_id>/responsibility/", views.org_responsibility_assign, name="org_responsibility_assign"),
    path("orgs/<int:org_id>/members/", views.org_member_appoint, name="org_member_appoint"),
    path("orgs/<int:org_id>/plaque/", views.org_plaque, name="org_plaque"),
    path("orgs/<int:org_id>/plaque/status/", views.org_plaque_set, name="org_plaque_set"),
    path("members/<int:member_id>/end/", views.member_end_term_view, name="member_end_term"),
]
