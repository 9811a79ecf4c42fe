"""The area tree: city … community, grids, micro-grids, and the compounds and
buildings that sit inside a grid. Data and invariants only; writes live in
`services.py`, reads in `selectors.py`."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridgov.areas.choices import AreaLevel


class Area(models.Model):
    """One node of the area tree.

    `path` is materialised: each level appends its own code segment and a
    slash (`370200/370281/012/003/`), so a subtree is a prefix filter that
    uses the same index on SQLite and PostgreSQL.
    """

    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("上级区域")
    )
    level = models.CharField(_("层级"), max_length=16, choices=AreaLevel.choices)
    code = models.CharField(_("编码"), max_length=18, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    path = models.CharField(_("路径"), max_length=64, unique=True)
    geometry = models.JSONField(_("边界 (GeoJSON)"), null=True, blank=True)
    min_lon = models.FloatField(null=True, blank=True)
    min_lat = models.FloatField(null=True, blank=True)
    max_lon = models.FloatField(null=True, blank=True)
    max_lat = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("区域")
        verbose_name_plural = _("区域")
        ordering = ["path"]
        indexes = [models.Index(fields=["level", "path"], name="area_level_path_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(level__in=[level.value for level in AreaLevel]), name="area_level_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class GeometryRevision(models.Model):
    """A single counter bumped in the transaction of every geometry change, so
    that each process can tell when its cached spatial index is stale."""

    key = models.CharField(max_length=32, primary_key=True)
    revision = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("几何版本")

    def __str__(self) -> str:
        return f"{self.key}@{self.revision}"


class Compound(models.Model):
    """A residential compound (小区) or village cluster inside one grid."""

    grid = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="compounds", verbose_name=_("网格"))
    microgrid = models.ForeignKey(
        Area,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="microgrid_compounds",
        verbose_name=_("微网格"),
    )
    name = models.CharField(_("小区名称"), max_length=100)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)

    class Meta:
        verbose_name = _("小区")
        verbose_name_plural = _("小区")
        ordering = ["grid_id", "name"]
        constraints = [models.UniqueConstraint(fields=["grid", "name"], name="compound_unique_name_in_grid")]

    def __str__(self) -> str:
        return self.name


class Building(models.Model):
    """A building (楼栋) with its unit and household counts."""

    compound = models.ForeignKey(
        Compound,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="buildings",
        verbose_name=_("小区"),
    )
    grid = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="buildings", verbose_name=_("网格"))
    microgrid = models.ForeignKey(
        Area,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="microgrid_buildings",
        verbose_name=_("微网格"),
    )
    name = models.CharField(_("楼栋"), max_length=50)
    unit_count = models.PositiveSmallIntegerField(_("单元数"), default=1)
    household_count = models.PositiveIntegerField(_("户数"), default=0)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)

    class Meta:
        verbose_name = _("楼栋")
        verbose_name_plural = _("楼栋")
        ordering = ["grid_id", "compound_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["compound", "name"], name="building_unique_name_in_compound"),
            models.CheckConstraint(condition=Q(unit_count__gte=1), name="building_has_unit"),
        ]

    def __str__(self) -> str:
        return self.name
