from django.urls import path

from gridgov.cases import views

app_name = "cases"
urlpatterns = [
    path("<int:case_id>/", views.case_detail, name="detail"),
]
