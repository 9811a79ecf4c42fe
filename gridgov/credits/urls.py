from django.urls import path

from gridgov.credits import views, views_catalogue

app_name = "credits"
urlpatterns = [
    path("", views.credits_home, name="home"),
    path("mine/", views.mine, name="mine"),
    path("years/close/", views.year_close, name="year_close"),
    path("households/<int:household_id>/", views.household_view, name="household"),
    path("households/<int:household_id>/redeem/", views.redeem_view, name="redeem"),
    path("entries/<int:entry_id>/evidence/", views.evidence, name="evidence"),
    path("entries/<int:entry_id>/<slug:action>/", views.entry_action, name="entry_action"),
    path("cases/<int:case_id>/propose/", views.propose, name="propose"),
    path("rankings/<int:compound_id>/", views.rankings, name="rankings"),
    path("rules/", views_catalogue.rules, name="rules"),
    path("rules/<int:area_id>/", views_catalogue.rules, name="rules_area"),
    path("rules/<int:area_id>/<str:code>/", views_catalogue.rule_edit, name="rule_edit"),
    path("items/", views_catalogue.items, name="items"),
    path("items/<int:item_id>/", views_catalogue.item_edit, name="item_edit"),
]
