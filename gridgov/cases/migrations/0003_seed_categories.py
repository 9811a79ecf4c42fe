"""Default event categories (GB/T 30428.2 classes plus residents' service lines)
and default time limits on the top level, inherited by every subcategory.
Counties edit both afterwards."""

from decimal import Decimal

from django.db import migrations

CATEGORIES = [
    ("01", "市容环境", ["暴露垃圾", "积存垃圾渣土", "道路不洁", "乱堆物堆料", "乱涂乱画", "绿地脏乱"]),
    ("02", "宣传广告", ["非法小广告", "违规户外广告", "广告牌匾破损"]),
    ("03", "施工管理", ["施工扰民", "工地扬尘", "道路遗撒", "违规建设"]),
    ("04", "街面秩序", ["占道经营", "店外经营", "乱停放车辆", "无照经营", "共享单车乱停"]),
    ("05", "突发事件", ["燃气泄漏", "火灾隐患", "道路塌陷", "自然灾害", "公共卫生事件"]),
    ("06", "社区服务", ["邻里纠纷", "噪音扰民", "养犬管理", "物业服务", "停车问题", "群租房", "消防通道堵塞", "燃气安全隐患"]),
    ("99", "其他", ["其他事项"]),
]

# (unit, first response, grid, community, town, department, verification)
NORMAL = ("working_hour", "1", "7", "14", "21", "35", "7")
URGENT = ("natural_hour", "1", "4", "8", "12", "24", "4")
CRITICAL = ("natural_hour", "0.5", "1", "2", "4", "8", "2")
EMERGENCY_NORMAL = ("natural_hour", "1", "4", "8", "12", "24", "4")


def load(apps, schema_editor):
    Category = apps.get_model("cases", "Category")
    SlaPolicy = apps.get_model("cases", "SlaPolicy")
    for code, name, children in CATEGORIES:
        root = Category.objects.create(code=code, name=name)
        for index, child in enumerate(children, start=1):
            Category.objects.create(parent=root, code=f"{code}{index:02d}", name=child)
        normal = EMERGENCY_NORMAL if code == "05" else NORMAL
        for urgency, limits in (("normal", normal), ("urgent", URGENT), ("critical", CRITICAL)):
            unit, first, grid, community, town, department, verification = limits
            SlaPolicy.objects.create(
                category=root,
                urgency=urgency,
                unit=unit,
                first_response=Decimal(first),
                grid_limit=Decimal(grid),
                community_limit=Decimal(community),
                town_limit=Decimal(town),
                department_limit=Decimal(department),
                verification_limit=Decimal(verification),
            )


def unload(apps, schema_editor):
    apps.get_model("cases", "SlaPolicy").objects.all().delete()
    Category = apps.get_model("cases", "Category")
    Category.objects.exclude(parent=None).delete()
    Category.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_categories_sla")]
    operations = [migrations.RunPython(load, unload)]
