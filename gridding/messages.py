"""Chinese sentences for the `python -m gridding` commands.

The library raises structured errors (`kind` + `params`) and stays free of
any language; this table is the command line's wording. The platform renders
the same kinds through gettext instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_FEATURE = "文件“{path}”第{number}个要素"

TEMPLATES: dict[str, str] = {
    # Files.
    "file_missing": "找不到文件“{path}”。",
    "file_unreadable": "无法读取文件“{path}”：{error}",
    "not_json": "文件“{path}”不是有效的 JSON（第{line}行第{column}列附近出错），请提供 GeoJSON 文件。",
    "not_feature_collection": (
        '文件“{path}”不是 GeoJSON 要素集合（需要 "type": "FeatureCollection" 和 features 列表）。'
    ),
    "not_feature": _FEATURE + "不是 GeoJSON 要素（Feature）。",
    "empty": "文件“{path}”中没有任何要素。",
    # Features.
    "missing_id": _FEATURE + "缺少 id 属性。",
    "duplicate_id": _FEATURE + "的 id“{id}”与第{other_number}个要素重复。",
    "not_point": _FEATURE + "（id“{id}”）不是点（Point）要素，楼栋须以点表示。",
    "bad_coordinates": _FEATURE + "（id“{id}”）的坐标无效。",
    "not_lonlat": _FEATURE + "（id“{id}”）的坐标（{x}, {y}）不是经纬度，请提供 WGS84/CGCS2000 经纬度坐标。",
    "missing_households": _FEATURE + "（id“{id}”）缺少户数（households）。",
    "bad_households": _FEATURE + "（id“{id}”）的户数（households）{value} 不是整数。",
    "negative_households": _FEATURE + "（id“{id}”）的户数（households）为负数：{value}。",
    "missing_population": _FEATURE + "（id“{id}”）缺少人口数（population）。",
    "bad_population": _FEATURE + "（id“{id}”）的人口数（population）{value} 不是整数。",
    "negative_population": _FEATURE + "（id“{id}”）的人口数（population）为负数：{value}。",
    "bad_units": _FEATURE
    + '（id“{id}”）的单元列表（units）格式不对：应为 [{{"id": …, "households": …}}, …]，id 不重复。',
    "units_mismatch": _FEATURE + "（id“{id}”）各单元户数之和（{units_total}）与楼栋户数（{households}）不一致。",
    "bad_polygon": _FEATURE + "（id“{id}”）不是有效的面（问题：{problem}）。",
    "bad_staff": _FEATURE + "（id“{id}”）的人员列表（staff）应为列表。",
    "bad_line": _FEATURE + "不是线（LineString）或面要素，无法作为道路/边界线使用。",
    # Bands and partitions.
    "bad_band": "户数区间无效：下限 {low}、上限 {high}（须 0 ≤ 下限 ≤ 上限，上限 ≥ 1）。",
    "total_below_min": "全部楼栋合计 {total} 户，少于每个网格的下限 {low} 户，无法划分。",
    "total_no_group_count": "全部楼栋合计 {total} 户，无法分成若干个 {low}–{high} 户的网格（任何网格数都不满足区间）。",
    "component_below_min": (
        "有一片楼栋与其他楼栋不相邻（被距离阈值或道路/边界隔开），合计 {total} 户，少于下限 {low} 户："
        "{buildings}{more_text}。请调大相邻距离（--max-edge）或去掉相应道路线。"
    ),
    "no_group_count": (
        "有一片相连的楼栋合计 {total} 户，无法分成若干个 {low}–{high} 户的网格：{buildings}{more_text}。"
    ),
    "not_found": (
        "未能把一片相连的楼栋（合计 {total} 户）划分为 {low}–{high} 户且连片的网格（已尝试多种划分，"
        "这不是不可行的证明）：{buildings}{more_text}。可放宽户数区间或调整相邻距离。"
    ),
    "no_partition": (
        "一片相连的楼栋（合计 {total} 户）已穷举全部划分方式，确实无法分成 {low}–{high} 户且连片的网格："
        "{buildings}{more_text}。可放宽户数区间或调整相邻距离。"
    ),
    "node_above_max": "有楼栋超过上限 {high} 户且无法拆分。",
}

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_INFEASIBLE = 3

INFEASIBLE_KINDS = frozenset(
    {
        "total_below_min",
        "total_no_group_count",
        "component_below_min",
        "no_group_count",
        "no_partition",
        "not_found",
        "empty",
    }
)


class _Defaults(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def render(kind: str, params: Mapping[str, Any]) -> str:
    """One Chinese sentence for an error kind; unknown kinds still say something useful."""
    values = _Defaults(params)
    if "index" in params and isinstance(params["index"], int):
        values["number"] = params["index"] + 1
    if "other_index" in params and isinstance(params["other_index"], int):
        values["other_number"] = params["other_index"] + 1
    if isinstance(params.get("buildings"), list):
        values["buildings"] = "、".join(str(item) for item in params["buildings"])
    more = params.get("more") or 0
    values["more_text"] = f" 等共 {params.get('building_count', '?')} 栋" if more else ""
    if params.get("id") is None:
        values["id"] = "（无）"
    template = TEMPLATES.get(kind)
    if template is None:
        return f"输入有误（{kind}）：{dict(params)}"
    return template.format_map(values)
