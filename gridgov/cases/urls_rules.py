from django.urls import path

from gridgov.cases import views_rules

app_name = "case_rules"
urlpatterns = [
    path("", views_rules.category_list, name="categories"),
    path("categories/new/", views_rules.category_create_view, name="category_create"),
    path("categories/<str:code>/", views_rules.category_detail, name="category"),
    path("categories/<str:code>/children/new/", views_rules.category_create_view, name="category_add_child"),
    path("categories/<str:code>/rename/", views_rules.category_rename_view, name="category_rename"),
    path("categories/<str:code>/active/", views_rules.category_active_view, name="category_set_active"),
    path("categories/<str:code>/policies/<str:urgency>/", views_rules.sla_policy_set_view, name="policy_set"),
    path("categories/<str:code>/policies/<str:urgency>/clear/", views_rules.sla_policy_clear_view, name="policy_clear"),
    path("departments/", views_rules.department_list, name="departments"),
    path("departments/new/", views_rules.department_create_view, name="department_create"),
    path("departments/<int:department_id>/", views_rules.department_detail, name="department"),
    path("calendar/", views_rules.calendar_list, name="calendar"),
    path("calendar/set/", views_rules.calendar_override_set_view, name="calendar_set"),
    path("calendar/<str:day>/clear/", views_rules.calendar_override_clear_view, name="calendar_clear"),
]
