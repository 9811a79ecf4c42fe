"""`python -m gridding micro|audit|fuse`: the grid tools on GeoJSON files.

Exit status: 0 done, 2 bad input (file, feature or option; also argparse's
own usage errors), 3 the household band cannot be met (micro) or some
community could only be gridded outside the band (fuse, output still
written). Messages go to stderr in Chinese.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gridding.io import InputError, read_buildings, read_lines, read_single_polygon, write_json
from gridding.messages import EXIT_BAD_INPUT, EXIT_INFEASIBLE, EXIT_OK, INFEASIBLE_KINDS, render
from gridding.partition import Band, PartitionError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's usage errors, in Chinese
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"参数错误：{message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m gridding", description="网格融合、微网格划分与图层核查工具。")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    micro = commands.add_parser("micro", help="把一个网格的楼栋划分为微网格（默认每格 30–100 户）")
    micro.add_argument("--in", dest="input", required=True, help="楼栋点 GeoJSON（属性 id、households，可选 units）")
    micro.add_argument("--out", required=True, help="输出 GeoJSON：楼栋点（带 micro_grid）和每个微网格的面")
    micro.add_argument("--min", dest="low", type=int, default=30, help="每个微网格最少户数（默认 30）")
    micro.add_argument("--max", dest="high", type=int, default=100, help="每个微网格最多户数（默认 100）")
    micro.add_argument("--seed", type=int, default=0, help="随机种子：相同输入和种子得到相同结果")
    micro.add_argument("--max-edge", type=float, default=None, help="相邻楼栋最大距离（米）；默认按数据自动确定")
    micro.add_argument("--roads", default=None, help="道路/边界线 GeoJSON：跨越它们的楼栋不算相邻")
    micro.add_argument("--boundary", default=None, help="网格边界面 GeoJSON：微网格的面裁剪到其中")
    micro.add_argument("--code", default="", help="网格编码（15 位），微网格编码为其后加 3 位序号")

    audit = commands.add_parser("audit", help="核查多个专业网格图层：重叠、缝隙、跨界、近似重合、一人多格")
    audit.add_argument("--layers", nargs="+", required=True, help="专业网格图层 GeoJSON（每个要素有 id，可选 staff）")
    audit.add_argument("--boundaries", required=True, help="村/社区边界 GeoJSON（每个要素有 id 或 code）")
    audit.add_argument("--out", required=True, help="输出 JSON 报告")
    audit.add_argument("--summary", default=None, help="中文摘要写入此文件（默认打印到标准输出）")
    audit.add_argument("--iou", type=float, default=0.8, help="跨图层近似重合的交并比阈值（默认 0.8）")
    audit.add_argument("--overlap-tolerance", type=float, default=1.0, help="同图层重叠容差（平方米，默认 1）")
    audit.add_argument("--gap-tolerance", type=float, default=100.0, help="缝隙容差（平方米，默认 100）")
    audit.add_argument(
        "--cross-tolerance", type=float, default=0.01, help="跨村/社区界容差：越界部分占网格面积的比例（默认 0.01）"
    )

    fuse = commands.add_parser("fuse", help="按村/社区把楼栋组合为全科网格（默认每格 300–500 户）")
    fuse.add_argument("--buildings", required=True, help="楼栋点 GeoJSON（属性 id、households，可选 population、grid）")
    fuse.add_argument("--communities", required=True, help="村/社区边界 GeoJSON（属性 code 为 12 位编码）")
    fuse.add_argument("--existing", default=None, help="现有网格 GeoJSON：用于保持稳定（楼栋尽量留在原网格）")
    fuse.add_argument("--out", required=True, help="输出 GeoJSON：网格面和楼栋点（带 grid）")
    fuse.add_argument("--report", default=None, help="输出 JSON 报告（稳定性、各社区情况）")
    fuse.add_argument("--min", dest="low", type=int, default=300, help="每个网格最少户数（默认 300）")
    fuse.add_argument("--max", dest="high", type=int, default=500, help="每个网格最多户数（默认 500）")
    fuse.add_argument("--seed", type=int, default=0, help="随机种子")
    fuse.add_argument("--max-edge", type=float, default=None, help="相邻楼栋最大距离（米）；默认自动")
    fuse.add_argument("--roads", default=None, help="道路/边界线 GeoJSON：跨越它们的楼栋不算相邻")
    return parser


def _micro(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from gridding.micro import micro_grids, micro_result_to_geojson

    band = Band(args.low, args.high)
    buildings = read_buildings(args.input)
    barriers = read_lines(args.roads) if args.roads else []
    boundary = read_single_polygon(args.boundary) if args.boundary else None
    result = micro_grids(
        buildings,
        band=band,
        seed=args.seed,
        max_edge_m=args.max_edge,
        barriers=barriers,
        boundary=boundary,
        code_prefix=args.code,
    )
    write_json(args.out, micro_result_to_geojson(buildings, result))
    total = sum(building.households for building in buildings)
    print(
        f"已划分 {len(result.grids)} 个微网格：{len(buildings)} 栋楼、{total} 户，"
        f"每格 {band.low}–{band.high} 户；相邻距离阈值 {result.max_edge_m:.0f} 米"
        f"{'（自动）' if result.automatic_edge else ''}。结果已写入 {args.out}。"
    )
    if result.flagged:
        flagged = "、".join(result.flagged)
        print(f"注意：以下楼栋（单元）单独超过 {band.high} 户且无单元可拆分，已各自成为一个微网格并标记：{flagged}")
    if result.outside_boundary:
        print(f"注意：以下楼栋在网格边界之外：{'、'.join(result.outside_boundary)}")
    return EXIT_OK


def _audit(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from gridding.audit import AuditSettings, audit_files, audit_summary

    settings = AuditSettings(
        iou_threshold=args.iou,
        overlap_tolerance_m2=args.overlap_tolerance,
        gap_tolerance_m2=args.gap_tolerance,
        cross_tolerance_share=args.cross_tolerance,
    )
    report = audit_files(args.layers, args.boundaries, settings=settings)
    write_json(args.out, report)
    summary = audit_summary(report)
    if args.summary:
        Path(args.summary).write_text(summary + "\n", encoding="utf-8")
        print(f"核查报告已写入 {args.out}，中文摘要已写入 {args.summary}。")
    else:
        print(summary)
    return EXIT_OK


def _fuse(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from gridding.fuse import fuse_files, fuse_summary

    band = Band(args.low, args.high)
    result = fuse_files(
        buildings_path=args.buildings,
        communities_path=args.communities,
        existing_path=args.existing,
        roads_path=args.roads,
        band=band,
        seed=args.seed,
        max_edge_m=args.max_edge,
    )
    write_json(args.out, result.geojson)
    if args.report:
        write_json(args.report, result.report)
    print(fuse_summary(result.report))
    return EXIT_INFEASIBLE if result.report["communities_outside_band"] else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"micro": _micro, "audit": _audit, "fuse": _fuse}
    try:
        return handlers[args.command](args, parser)
    except InputError as error:
        print(f"错误：{render(error.kind, error.params)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except PartitionError as error:
        if error.kind in INFEASIBLE_KINDS:
            print(f"无法划分：{render(error.kind, error.params)}", file=sys.stderr)
            return EXIT_INFEASIBLE
        print(f"错误：{render(error.kind, error.params)}", file=sys.stderr)
        return EXIT_BAD_INPUT
