"""The default patrol checklist (one for every grid: the Area model has no grid kind).
A county changes it with a further data migration."""

from django.db import migrations

# (code, name, hint, default case category code)
CHECK_ITEMS = [
    ("fire_corridor", "消防通道", "楼道、消防通道是否堆物、占用，消防设施是否完好", "0607"),
    ("gas", "燃气使用", "沿街商户、居民是否违规使用瓶装液化气，软管、阀门是否老化", "0608"),
    ("ebike_charging", "电动车室内充电/飞线充电", "是否在楼道、室内充电，是否私拉电线“飞线充电”", "0502"),
    ("hoarding", "工地围挡", "围挡是否牢固、螺丝是否松动，扬尘是否覆盖", "03"),
    ("group_rental", "群租房", "是否存在分隔出租、人员频繁进出、噪音扰民", "0606"),
    ("facilities", "井盖/设施", "井盖是否缺失、破损，健身器材、路灯等设施是否完好", "9901"),
    ("sanitation", "环境卫生", "是否有暴露垃圾、乱堆物堆料、绿地脏乱", "0101"),
    ("falling_objects", "高空坠物隐患", "阳台、窗台、外墙是否有松动物件、空调外机是否牢固", "9901"),
    ("street_order", "占道经营", "是否有占道、店外经营", "0401"),
    ("flyers", "小广告", "是否有乱贴乱画的非法小广告", "0201"),
]


def seed(apps, schema_editor):
    CheckItem = apps.get_model("patrols", "CheckItem")
    for order, (code, name, hint, category_code) in enumerate(CHECK_ITEMS, start=1):
        CheckItem.objects.update_or_create(
            code=code,
            defaults={"name": name, "hint": hint, "category_code": category_code, "sort_order": order * 10},
        )


def unseed(apps, schema_editor):
    apps.get_model("patrols", "CheckItem").objects.filter(code__in=[item[0] for item in CHECK_ITEMS]).delete()


class Migration(migrations.Migration):
    dependencies = [("patrols", "0001_patrols")]
    operations = [migrations.RunPython(seed, unseed)]
