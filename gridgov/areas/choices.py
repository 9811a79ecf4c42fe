from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AreaLevel(models.TextChoices):
    """Levels of the area tree, top to bottom.

    The order of declaration is the order of depth; `AREA_LEVEL_ORDER` relies on it.
    """

    CITY = "city", _("市")
    DISTRICT = "district", _("区(市)")
    TOWN = "town", _("镇街")
    COMMUNITY = "community", _("村/社区")
    GRID = "grid", _("网格")
    MICROGRID = "microgrid", _("微网格")


AREA_LEVEL_ORDER: list[str] = [level.value for level in AreaLevel]

# Digits each level adds to the code of its parent (GB/T 2260 six digits for
# city and district; GB/T 10114 three for town/street; three each below).
# A district's code replaces its city's code instead of extending it.
CODE_LENGTH: dict[str, int] = {
    AreaLevel.CITY: 6,
    AreaLevel.DISTRICT: 6,
    AreaLevel.TOWN: 9,
    AreaLevel.COMMUNITY: 12,
    AreaLevel.GRID: 15,
    AreaLevel.MICROGRID: 18,
}


def child_level(level: str) -> str | None:
    index = AREA_LEVEL_ORDER.index(level)
    return AREA_LEVEL_ORDER[index + 1] if index + 1 < len(AREA_LEVEL_ORDER) else None
