"""The default tag catalogue along GB/T 31000 "9+X"; counties edit it afterwards.

Sensitive groups (special groups, key youth, disability/health) are visible
only to the roles listed in `granted_roles`.
"""

from django.db import migrations

GROUPS = [
    # code, name, sensitive, granted roles, tags [(code, name, target)]
    ("household", "户标签", False, [], [
        ("party_lead", "党员中心户", "household"),
        ("dibao", "低保户", "household"),
        ("tekun", "特困户", "household"),
        ("elderly_alone", "独居老人户", "household"),
        ("empty_nest", "空巢户", "household"),
        ("tenant", "租户", "household"),
        ("rental", "出租屋", "household"),
        ("floating", "流动人口户", "household"),
    ]),
    ("difficulty", "困难人员", False, [], [
        ("low_income", "低收入", "person"),
        ("unemployed", "失业人员", "person"),
        ("serious_illness", "大病患者", "person"),
    ]),
    ("elderly", "老年人", False, [], [
        ("elderly_80", "高龄老人", "person"),
        ("living_alone", "独居老人", "person"),
    ]),
    ("veteran", "退役军人", False, [], [
        ("veteran", "退役军人", "person"),
    ]),
    ("disability", "残疾人", True, ["grid_worker", "community_staff", "town_staff", "county_command"], [
        ("disability_physical", "肢体残疾", "person"),
        ("disability_visual", "视力残疾", "person"),
        ("disability_intellectual", "智力残疾", "person"),
    ]),
    ("special", "特殊人群", True, ["grid_worker", "community_staff", "county_command"], [
        ("community_correction", "社区矫正对象", "person"),
        ("released_prisoner", "刑满释放人员", "person"),
        ("severe_mental", "严重精神障碍患者", "person"),
        ("drug_user", "吸毒人员", "person"),
    ]),
    ("key_youth", "重点青少年", True, ["grid_worker", "community_staff", "county_command"], [
        ("left_behind_child", "留守儿童", "person"),
        ("dropout", "辍学青少年", "person"),
    ]),
]


def load(apps, schema_editor):
    TagGroup = apps.get_model("registry", "TagGroup")
    Tag = apps.get_model("registry", "Tag")
    for group_order, (code, name, sensitive, roles, tags) in enumerate(GROUPS):
        group = TagGroup.objects.create(
            code=code, name=name, sensitive=sensitive, granted_roles=roles, sort_order=group_order
        )
        for tag_order, (tag_code, tag_name, target) in enumerate(tags):
            Tag.objects.create(group=group, code=tag_code, name=tag_name, target=target, sort_order=tag_order)


def unload(apps, schema_editor):
    apps.get_model("registry", "Tag").objects.filter(group__code__in=[g[0] for g in GROUPS]).delete()
    apps.get_model("registry", "TagGroup").objects.filter(code__in=[g[0] for g in GROUPS]).delete()


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
