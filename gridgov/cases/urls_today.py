from django.urls import path

from gridgov.cases import views_today

app_name = "today"
urlpatterns = [
    path("", views_today.today_home, name="home"),
]
