from django.urls import path

from gridgov.assets import views

app_name = "assets"
urlpatterns = [
    path("", views.assets_home, name="home"),
    path("compounds/<int:compound_id>/", views.compound_view, name="compound"),
    path("compounds/<int:compound_id>/export.xlsx", views.compound_export, name="export"),
    path("compounds/<int:compound_id>/disclosure/", views.disclosure_view, name="disclosure"),
    path("assets/<int:asset_id>/", views.asset_view, name="asset"),
    path("campaigns/", views.campaigns, name="campaigns"),
    path("campaigns/<int:campaign_id>/", views.campaign_view, name="campaign"),
    path("tasks/<int:task_id>/finish/", views.task_finish, name="task_finish"),
    path("ledger/<int:entry_id>/reverse/", views.entry_reverse, name="reverse"),
]
