"""GeoJSON import of a batch of sibling areas (typically the grids of one community).

`area_import_geojson` is all-or-nothing: it checks the whole file — structure,
codes, geometry, containment, overlaps with each other and with siblings
already stored, coverage of the parent — and writes only when nothing is
wrong. The geometry rules live in the pure `gridding.validate`; this module
adds what needs the database (the parent, existing codes and siblings) and
renders every problem as a whole Chinese sentence.

Feature numbers shown to people are 1-based (“第N个要素”); `ImportProblem.index`
keeps the 0-based position in the file's `features` array.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridding.crs import gcj02_to_wgs84
from gridding.geo import geometry_from_geojson, geometry_to_geojson
from gridding.validate import Candidate, ExistingArea, Problem, ProblemKind, candidate_from_geojson, validate_siblings
from gridgov.areas.choices import AREA_LEVEL_ORDER, AreaLevel, child_level
from gridgov.areas.models import Area
from gridgov.areas.services import AreaSpec, area_validate_code, areas_bulk_create


class ImportCrs(StrEnum):
    WGS84 = "wgs84"  # also CGCS2000: the two differ by centimetres
    GCJ02 = "gcj02"  # Chinese consumer maps (AMap, Tencent, WeChat); converted on the way in


class ImportProblemKind(StrEnum):
    """Problems found by the import itself; geometry problems use `gridding.validate.ProblemKind`."""

    # The file or the arguments as a whole: nothing could be checked per feature.
    INVALID_OPTION = "invalid_option"
    PARENT_NOT_FOUND = "parent_not_found"
    WRONG_LEVEL = "wrong_level"
    INVALID_ENCODING = "invalid_encoding"
    INVALID_JSON = "invalid_json"
    NOT_FEATURE_COLLECTION = "not_feature_collection"
    NO_FEATURES = "no_features"
    UNSUPPORTED_CRS = "unsupported_crs"
    CONCURRENT_CHANGE = "concurrent_change"
    # One feature.
    NOT_FEATURE = "not_feature"
    MISSING_CODE = "missing_code"
    CODE_EXISTS = "code_exists"
    MISSING_NAME = "missing_name"
    NAME_TOO_LONG = "name_too_long"


# Names a GeoJSON "crs" member (the 2008 draft; RFC 7946 dropped it) may use
# for longitude/latitude on WGS84 or CGCS2000 — anything else, typically a
# Gauss-Krüger projection in metres, must be converted before import.
ACCEPTED_CRS_MARKERS = ("CRS84", "EPSG::4326", "EPSG:4326", "EPSG::4490", "EPSG:4490")

_CODE_QUERY_CHUNK = 500

_GEOS_REASONS = {
    "Hole lies outside shell": gettext_lazy("内环（洞）位于外环之外"),
    "Nested holes": gettext_lazy("内环相互嵌套"),
    "Interior is disconnected": gettext_lazy("多边形内部被内环分割成不连通的部分"),
    "Nested shells": gettext_lazy("多面中的多边形相互嵌套"),
    "Duplicate Rings": gettext_lazy("存在重复的环"),
    "Too few points": gettext_lazy("环的有效点数过少（可能存在重复点）"),
    "Invalid Coordinate": gettext_lazy("存在无效坐标"),
    "Ring is not closed": gettext_lazy("环未闭合"),
}


@dataclass(frozen=True)
class ImportProblem:
    """One problem, ready to show. `index` is 0-based (None for the file as a whole)."""

    kind: str
    message: str
    index: int | None = None
    code: str | None = None
    name: str | None = None

    @property
    def number(self) -> int | None:
        """The 1-based feature number people see (“第N个要素”)."""
        return None if self.index is None else self.index + 1

    def __str__(self) -> str:
        if self.index is None:
            return self.message
        if self.code:
            return _("第%(number)d个要素（编码 %(code)s）：%(message)s") % {
                "number": self.number,
                "code": self.code,
                "message": self.message,
            }
        if self.name:
            return _("第%(number)d个要素（名称 %(name)s）：%(message)s") % {
                "number": self.number,
                "name": self.name,
                "message": self.message,
            }
        return _("第%(number)d个要素：%(message)s") % {"number": self.number, "message": self.message}


@dataclass
class ImportReport:
    level: str
    parent_code: str
    report_only: bool
    features: int = 0
    created: int = 0
    problems: list[ImportProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        return [str(problem) for problem in self.problems]


# ---------------------------------------------------------------- the service


def area_import_geojson(
    *,
    actor: Any,
    data: bytes | str,
    level: str,
    parent_code: str,
    report_only: bool,
    crs: str = ImportCrs.WGS84,
    code_property: str = "code",
    name_property: str = "name",
    allow_gaps: bool = False,
) -> ImportReport:
    """Check a GeoJSON FeatureCollection of `level` areas under `parent_code` and, if valid, create them.

    Nothing is written when any problem is found, nor with `report_only`.
    Gaps in the coverage of the parent are errors unless `allow_gaps` (the
    grid standard forbids them; allow them only for an import in several
    batches). A parent without geometry skips the containment and gap checks.
    Coordinates in `crs="gcj02"` are converted to WGS84 before any check.
    """
    report = ImportReport(level=level, parent_code=parent_code, report_only=report_only)
    if report_only:
        _check(
            report, data=data, crs=crs, code_property=code_property, name_property=name_property, allow_gaps=allow_gaps
        )
        return report
    try:
        # Checks and writes share one transaction, so the siblings and codes
        # checked are the ones the write sees (serialised on SQLite's
        # IMMEDIATE transactions; the unique code constraint covers the rest).
        with transaction.atomic():
            specs = _check(
                report,
                data=data,
                crs=crs,
                code_property=code_property,
                name_property=name_property,
                allow_gaps=allow_gaps,
            )
            if report.problems:
                return report
            report.created = len(areas_bulk_create(actor=actor, specs=specs))
    except IntegrityError:
        report.created = 0
        report.problems.append(
            _file_problem(
                ImportProblemKind.CONCURRENT_CHANGE,
                _("导入期间有其他人写入了相同编码的区域，本次未写入任何数据，请重新导入。"),
            )
        )
    return report


def _check(
    report: ImportReport,
    *,
    data: bytes | str,
    crs: str,
    code_property: str,
    name_property: str,
    allow_gaps: bool,
) -> list[AreaSpec]:
    """Fill `report` with every problem; return the specs to create (meaningful only without problems)."""
    problems = report.problems
    level = report.level
    if crs not in {choice.value for choice in ImportCrs}:
        problems.append(
            _file_problem(
                ImportProblemKind.INVALID_OPTION,
                _("未知的坐标系“%(crs)s”，可选wgs84或gcj02。") % {"crs": crs},
            )
        )
    if level not in AREA_LEVEL_ORDER:
        problems.append(
            _file_problem(ImportProblemKind.INVALID_OPTION, _("未知的区域层级“%(level)s”。") % {"level": level})
        )
    parent = Area.objects.filter(code=report.parent_code).first()
    if parent is None:
        problems.append(
            _file_problem(
                ImportProblemKind.PARENT_NOT_FOUND,
                _("上级区域编码“%(code)s”不存在。") % {"code": report.parent_code},
            )
        )
    elif level in AREA_LEVEL_ORDER and child_level(parent.level) != level:
        problems.append(_file_problem(ImportProblemKind.WRONG_LEVEL, _wrong_level_message(level, parent)))

    collection = _parse_collection(data, problems)
    if collection is None or parent is None or problems:
        return []
    raw_features: list[Any] = collection["features"]
    report.features = len(raw_features)

    candidates: list[Candidate] = []
    names: dict[int, str] = {}
    for index, raw in enumerate(raw_features):
        candidate = _candidate(
            index,
            raw,
            level=level,
            parent=parent,
            code_property=code_property,
            name_property=name_property,
            problems=problems,
        )
        if crs == ImportCrs.GCJ02 and candidate.geometry is not None:
            candidate = dataclasses.replace(candidate, geometry=gcj02_to_wgs84(candidate.geometry))
        candidates.append(candidate)
        if candidate.name:
            names[index] = candidate.name

    for existing in _existing_with_codes(candidate.code for candidate in candidates if candidate.code):
        for candidate in candidates:
            if candidate.code == existing.code:
                problems.append(
                    _feature_problem(
                        candidate,
                        ImportProblemKind.CODE_EXISTS,
                        _("编码“%(code)s”已被已有区域“%(name)s”使用。")
                        % {"code": existing.code, "name": existing.name},
                    )
                )

    geometry_problems = validate_siblings(
        candidates,
        parent=geometry_from_geojson(parent.geometry) if parent.geometry else None,
        existing=_existing_siblings(parent),
        outside_tolerance_m=float(settings.AREA_IMPORT_OUTSIDE_TOLERANCE_M),
        overlap_tolerance_m2=float(settings.AREA_IMPORT_OVERLAP_TOLERANCE_M2),
        check_gaps=not allow_gaps,
    )
    for problem in geometry_problems:
        name = names.get(problem.index) if problem.index is not None else None
        problems.append(
            ImportProblem(
                kind=problem.kind,
                message=_geometry_message(problem, parent=parent, level=level),
                index=problem.index,
                code=problem.code,
                name=name,
            )
        )
    # File order, whole-file problems (gaps) last: the way people fix a file.
    problems.sort(key=lambda problem: (problem.index is None, problem.index or 0))

    return [
        AreaSpec(
            level=level,
            code=candidate.code or "",
            name=candidate.name or "",
            parent_code=parent.code,
            geometry=geometry_to_geojson(candidate.geometry) if candidate.geometry is not None else None,
        )
        for candidate in candidates
    ]


# ------------------------------------------------------------------ parsing


def _parse_collection(data: bytes | str, problems: list[ImportProblem]) -> dict[str, Any] | None:
    text = _decode(data)
    if text is None:
        problems.append(
            _file_problem(
                ImportProblemKind.INVALID_ENCODING, _("无法识别文件的字符编码，请将GeoJSON文件保存为UTF-8编码。")
            )
        )
        return None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        problems.append(
            _file_problem(
                ImportProblemKind.INVALID_JSON,
                _("文件不是有效的JSON（GeoJSON）：第%(line)d行第%(column)d列附近有语法错误。")
                % {"line": error.lineno, "column": error.colno},
            )
        )
        return None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        found = document.get("type") if isinstance(document, dict) else None
        if isinstance(found, str):
            message = _("文件不是GeoJSON要素集合：顶层对象的type应为FeatureCollection，实际为“%(type)s”。") % {
                "type": found
            }
        else:
            message = _("文件不是GeoJSON要素集合：顶层应为type为FeatureCollection且带有features数组的对象。")
        problems.append(_file_problem(ImportProblemKind.NOT_FEATURE_COLLECTION, message))
        return None
    if not isinstance(document.get("features"), list):
        problems.append(_file_problem(ImportProblemKind.NOT_FEATURE_COLLECTION, _("GeoJSON要素集合缺少features数组。")))
        return None
    declared = _declared_crs(document)
    if declared is not None and not any(marker in declared.upper() for marker in ACCEPTED_CRS_MARKERS):
        problems.append(
            _file_problem(
                ImportProblemKind.UNSUPPORTED_CRS,
                _(
                    "文件声明的坐标系“%(crs)s”不受支持：请先转换为WGS84/CGCS2000经纬度"
                    "（EPSG:4326或EPSG:4490）；GCJ-02经纬度请选择gcj02坐标系导入。"
                )
                % {"crs": declared},
            )
        )
        return None
    if not document["features"]:
        problems.append(_file_problem(ImportProblemKind.NO_FEATURES, _("文件中没有任何要素。")))
        return None
    return document


def _decode(data: bytes | str) -> str | None:
    if isinstance(data, str):
        return data
    # RFC 7946 says UTF-8, but files from Chinese desktop GIS tools are often
    # GBK; GB 18030 is its superset.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _declared_crs(document: Mapping[str, Any]) -> str | None:
    crs = document.get("crs")
    if not isinstance(crs, Mapping):
        return None
    properties = crs.get("properties")
    name = properties.get("name") if isinstance(properties, Mapping) else None
    return str(name) if name else None


def _candidate(
    index: int,
    raw: Any,
    *,
    level: str,
    parent: Area,
    code_property: str,
    name_property: str,
    problems: list[ImportProblem],
) -> Candidate:
    if not isinstance(raw, Mapping) or raw.get("type") != "Feature":
        problems.append(
            ImportProblem(
                kind=ImportProblemKind.NOT_FEATURE,
                message=_("不是GeoJSON要素：type应为Feature。"),
                index=index,
            )
        )
        return Candidate(index=index, code=None, name=None, geometry=None)
    raw_properties = raw.get("properties")
    # "properties": null is legal GeoJSON; it then simply lacks code and name.
    properties: Mapping[str, Any] = raw_properties if isinstance(raw_properties, Mapping) else {}
    code = _text(properties.get(code_property))
    name = _text(properties.get(name_property))
    candidate = candidate_from_geojson(index=index, code=code, name=name, geometry=raw.get("geometry"))

    if code is None:
        problems.append(
            _feature_problem(
                candidate,
                ImportProblemKind.MISSING_CODE,
                _("缺少编码属性“%(property)s”。") % {"property": code_property},
            )
        )
    else:
        try:
            area_validate_code(level=level, code=code, parent=parent)
        except ValidationError as error:
            problems.append(_feature_problem(candidate, ProblemKind.BAD_CODE, " ".join(error.messages)))
    if name is None:
        problems.append(
            _feature_problem(
                candidate,
                ImportProblemKind.MISSING_NAME,
                _("缺少名称属性“%(property)s”。") % {"property": name_property},
            )
        )
    else:
        max_length = Area._meta.get_field("name").max_length or 100
        if len(name) > max_length:
            problems.append(
                _feature_problem(
                    candidate,
                    ImportProblemKind.NAME_TOO_LONG,
                    _("名称超过%(max)d个字符。") % {"max": max_length},
                )
            )
    return candidate


def _text(value: Any) -> str | None:
    """A property as text: codes often arrive as JSON numbers from spreadsheets."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _existing_with_codes(codes: Iterable[str]) -> list[Area]:
    unique = sorted(set(codes))
    found: list[Area] = []
    # Chunked: SQLite builds may cap the number of query parameters.
    for start in range(0, len(unique), _CODE_QUERY_CHUNK):
        found.extend(Area.objects.filter(code__in=unique[start : start + _CODE_QUERY_CHUNK]).only("code", "name"))
    return found


def _existing_siblings(parent: Area) -> list[ExistingArea]:
    children = Area.objects.filter(parent=parent, geometry__isnull=False).only("code", "name", "geometry")
    return [
        ExistingArea(code=child.code, name=child.name, geometry=geometry_from_geojson(child.geometry))
        for child in children
        if child.geometry
    ]


# ---------------------------------------------------------------- messages


def _file_problem(kind: str, message: str) -> ImportProblem:
    return ImportProblem(kind=kind, message=message)


def _feature_problem(candidate: Candidate, kind: str, message: str) -> ImportProblem:
    return ImportProblem(kind=kind, message=message, index=candidate.index, code=candidate.code, name=candidate.name)


def _wrong_level_message(level: str, parent: Area) -> str:
    expected = child_level(parent.level)
    values = {
        "level": AreaLevel(level).label,
        "parent_level": AreaLevel(parent.level).label,
        "parent": parent.name,
    }
    if expected is None:
        return _("%(parent_level)s“%(parent)s”之下不能再有下级区域。") % values
    return _("%(level)s不能直接导入到%(parent_level)s“%(parent)s”之下，其下级应为%(expected)s。") % {
        **values,
        "expected": AreaLevel(expected).label,
    }


def _geometry_message(problem: Problem, *, parent: Area, level: str) -> str:
    """A whole Chinese sentence for a problem found by `gridding.validate`."""
    params = dict(problem.params)
    kind = problem.kind
    if kind == ProblemKind.MISSING_GEOMETRY:
        return _("缺少几何图形（geometry为空）。")
    if kind == ProblemKind.INVALID_GEOJSON:
        return _("几何图形不是有效的GeoJSON：应包含type和由经纬度数值组成的coordinates。")
    if kind == ProblemKind.NOT_POLYGON:
        return _("几何类型为%(type)s，应为闭合多边形（Polygon或MultiPolygon）。") % params
    if kind == ProblemKind.NOT_LONLAT:
        return _("坐标（%(x)s，%(y)s）不是经纬度，文件可能使用了投影坐标系，请先转换为WGS84/CGCS2000经纬度。") % params
    if kind == ProblemKind.TOO_FEW_POINTS:
        return _("第%(ring_number)d个环只有%(points)d个点，闭合多边形的环至少需要4个点（首尾相同）。") % params
    if kind == ProblemKind.NOT_CLOSED:
        return _("多边形未闭合：第%(ring_number)d个环的首点与末点不同。") % params
    if kind == ProblemKind.EMPTY_GEOMETRY:
        return _("几何图形为空。")
    if kind == ProblemKind.SELF_INTERSECTION:
        if "lon" in params:
            return _("多边形边界自相交（如“8”字形），交点约在经度%(lon).6f、纬度%(lat).6f。") % params
        return _("多边形边界自相交（如“8”字形）。")
    if kind == ProblemKind.INVALID_GEOMETRY:
        reason = _GEOS_REASONS.get(params.get("reason", ""), params.get("reason", ""))
        if "lon" in params:
            return _("多边形无效：%(reason)s，位置约在经度%(lon).6f、纬度%(lat).6f。") % {**params, "reason": reason}
        return _("多边形无效：%(reason)s。") % {"reason": reason}
    if kind == ProblemKind.OUTSIDE_PARENT:
        return _(
            "有约%(area_m2).1f平方米超出上级区域“%(parent)s”的边界（最远约%(distance_m).1f米，"
            "允许误差%(tolerance_m)s米），位置约在经度%(lon).6f、纬度%(lat).6f。"
        ) % {**params, "parent": parent.name}
    if kind == ProblemKind.OVERLAP:
        values = {**params, "other": params["other_index"] + 1}
        if params.get("other_code"):
            return (
                _(
                    "与第%(other)d个要素（编码 %(other_code)s）重叠约%(area_m2).1f平方米"
                    "（允许误差%(tolerance_m2)s平方米），位置约在经度%(lon).6f、纬度%(lat).6f。"
                )
                % values
            )
        return (
            _(
                "与第%(other)d个要素重叠约%(area_m2).1f平方米（允许误差%(tolerance_m2)s平方米），"
                "位置约在经度%(lon).6f、纬度%(lat).6f。"
            )
            % values
        )
    if kind == ProblemKind.OVERLAP_EXISTING:
        return _(
            "与已有的%(level)s“%(other_name)s”（编码 %(other_code)s）重叠约%(area_m2).1f平方米，"
            "位置约在经度%(lon).6f、纬度%(lat).6f。"
        ) % {**params, "level": AreaLevel(level).label}
    if kind == ProblemKind.GAP:
        return _(
            "上级区域“%(parent)s”（编码 %(code)s）内有约%(area_m2).1f平方米未被任何%(level)s覆盖，"
            "位置约在经度%(lon).6f、纬度%(lat).6f；按标准，%(level)s应无缝覆盖上级区域。"
        ) % {**params, "parent": parent.name, "code": parent.code, "level": AreaLevel(level).label}
    if kind == ProblemKind.DUPLICATE_CODE:
        return _("编码“%(code)s”与第%(other)d个要素重复。") % {
            "code": problem.code,
            "other": params["other_index"] + 1,
        }
    return _("几何检查未通过：%(kind)s。") % {"kind": kind}
