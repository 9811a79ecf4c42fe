"""Excel import and export of the registry; included at /registry/excel/."""

from django.urls import path

from gridgov.registry import views_excel

app_name = "registry_excel"
urlpatterns = [
    path("", views_excel.import_home, name="import"),
    path("template/", views_excel.template_download, name="template"),
    path("imports/<int:import_id>/", views_excel.import_detail, name="import_detail"),
    path("imports/<int:import_id>/commit/", views_excel.import_commit, name="import_commit"),
    path("imports/<int:import_id>/cancel/", views_excel.import_cancel, name="import_cancel"),
    path("export/", views_excel.export, name="export"),
]
