from django.urls import path

from gridgov.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login, name="login"),
    path("login/code/", views.login_code, name="login_code"),
    path("login/resend/", views.login_resend, name="login_resend"),
    path("logout/", views.logout, name="logout"),
    path("c/<str:token>/", views.compound_entry, name="compound"),
    path("report/", views.report, name="report"),
    path("my/", views.my_report_list, name="my_reports"),
    path("my/<int:case_id>/", views.my_report, name="my_report"),
    path("my/<int:case_id>/rate/", views.my_report_rate, name="my_report_rate"),
    path("my/<int:case_id>/reopen/", views.my_report_reopen, name="my_report_reopen"),
    path("posters/", views.poster_list, name="posters"),
    path("posters/<int:compound_id>/", views.poster, name="poster"),
]
