"""Synthetic but plausible Chinese names for the demo county.

Only the city, the county, its 12 towns/streets and the seed article's
方井社区 / 文澜阁网格 are real; every other village, community, compound,
road and person name is put together from the character lists below, which
lean towards what one hears around Jiaozhou (…疃, …戈庄, roads named after
other cities). `NameBook` hands out names that are unique within a run and
depend only on the `random.Random` it is given.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable

CITY_NAME = "青岛市"
COUNTY_NAME = "胶州市"

# The seed article's grid head works in 中云街道 方井社区 文澜阁网格.
SEED_TOWN = "中云街道"
SEED_COMMUNITY = "方井社区"
SEED_COMPOUND = "文澜阁小区"
SEED_GRID = "文澜阁网格"

# Frequent surnames in Jiaozhou villages (王家庄, 逄家疃, 匡家戈庄 …).
SURNAMES = "王李张刘赵孙杨高徐于姜宋韩马陈郭董周崔吕冷匡逄法宫臧栾纪管綦薛丁邵朱胡曲隋林毕殷辛袁范修鞠孔谭迟卢"
VILLAGE_PREFIXES = ("", "", "", "东", "西", "南", "北", "前", "后", "大", "小", "上", "下", "新")
VILLAGE_SUFFIXES = (
    "家庄", "家村", "家屯", "家疃", "戈庄", "家沟", "家岭", "家河", "家埠", "家洼", "家营", "家店", "家官庄", "家寨",
)  # fmt: skip
# Villages named after a landmark rather than a clan.
VILLAGE_LANDMARKS = (
    "石桥", "柳沟", "杨树", "沙岭", "河崖", "水寨", "槐树", "桃园", "杏园", "枣行", "泉头", "岭上", "庙前", "营房",
    "河套", "台子", "石河", "松园", "荆沟", "苇塘", "梨园", "碾头", "井头", "西岭", "马店", "孙庄", "洼里", "岔河",
)  # fmt: skip

COMMUNITY_FIRST = "东西南北新福康和安丰兴华金泰瑞祥锦文书明德惠仁云溪湖海山林泉桂兰荷柳阳春嘉宁永昌盛鑫银鸿凤宏馨"
COMMUNITY_SECOND = "湖苑华园城岭河泉景安宁和兴盛源馨庭桥州阳台坊里苑"

COMPOUND_WORDS = (
    "翰林", "金域", "碧水", "阳光", "锦绣", "和谐", "幸福", "丽景", "书香", "海德", "银河", "紫荆", "翡翠", "明珠",
    "天泰", "盛世", "香榭", "颐和", "怡景", "青年", "世纪", "御景", "绿城", "东方", "滨河", "湖畔", "春天", "泰和",
    "瑞源", "嘉禾", "金鼎", "恒信", "富润", "盛和", "兰亭", "泊林", "海棠", "玉兰", "桂香", "云溪", "少海", "三里河",
    "璟园", "观澜", "悦府", "学府", "水岸", "锦城", "华府", "星河", "紫御", "中央", "金茂", "福瑞", "馨苑", "逸墅",
)  # fmt: skip
# Single-character endings read better with 小区 after them (翰林苑小区).
COMPOUND_ENDINGS_SHORT = ("苑", "园", "府", "城", "湾", "郡", "里", "居")
COMPOUND_ENDINGS_LONG = ("家园", "花园", "名邸", "华庭", "公寓", "雅居", "新村", "嘉园", "名苑", "雅苑", "佳苑")

# Jiaozhou's roads are mostly named after other cities.
ROADS = (
    "兰州路", "广州路", "福州路", "郑州路", "杭州路", "常州路", "扬州路", "温州路", "徐州路", "苏州路", "泉州路",
    "柳州路", "株洲路", "贵州路", "云溪河路", "少海路", "三里河路", "胶州湾路", "扬州东路", "兰州西路", "北京东路",
    "上海路", "香港路", "澳门路", "湘江路", "珠江路", "长江路", "黄河路", "淮河路", "太湖路",
)  # fmt: skip

GIVEN_NAMES = (
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "霞", "平",
    "刚", "秀英", "桂英", "建华", "建国", "志强", "海燕", "玉兰", "晓东", "永刚", "春梅", "立新", "德胜", "文静",
    "子涵", "浩然", "雨欣", "梓萱", "一鸣", "思远", "欣怡", "宇航", "佳琪", "凤英", "秀兰", "振华", "红霞", "国栋",
)  # fmt: skip

CHINESE_DIGITS = "零一二三四五六七八九"


def chinese_numeral(number: int) -> str:
    """1 → 一, 10 → 十, 21 → 二十一 … up to 999 (enough for 第N网格 / 第N村民小组)."""
    if not 0 < number < 1000:
        raise ValueError(number)
    hundreds, rest = divmod(number, 100)
    tens, ones = divmod(rest, 10)
    text = ""
    if hundreds:
        text += CHINESE_DIGITS[hundreds] + "百"
        if tens == 0 and ones:
            return text + "零" + CHINESE_DIGITS[ones]
    if tens:
        text += ("" if tens == 1 and not hundreds else CHINESE_DIGITS[tens]) + "十"
    if ones:
        text += CHINESE_DIGITS[ones]
    return text


class NameBook:
    """Names that are unique among those it handed out, drawn from one `random.Random`."""

    def __init__(self, rng: random.Random, used: Iterable[str] | None = None) -> None:
        self.rng = rng
        self.used: set[str] = set(used or ())

    def reserve(self, name: str) -> str:
        self.used.add(name)
        return name

    def _unique(self, make: Callable[[], str], fallback: Callable[[int], str]) -> str:
        for _ in range(200):
            name = make()
            if name not in self.used:
                return self.reserve(name)
        # The pools are large, but a very big preset could exhaust a pattern:
        # number the fallback instead of looping forever.
        number = 2
        while fallback(number) in self.used:
            number += 1
        return self.reserve(fallback(number))

    def village(self) -> str:
        """王家庄村, 后逄家疃村, 大辛戈庄村, 石桥村 …"""
        rng = self.rng

        def make() -> str:
            if rng.random() < 0.15:
                return rng.choice(VILLAGE_LANDMARKS) + "村"
            return rng.choice(VILLAGE_PREFIXES) + rng.choice(SURNAMES) + rng.choice(VILLAGE_SUFFIXES) + "村"

        base = rng.choice(SURNAMES) + rng.choice(VILLAGE_SUFFIXES)
        return self._unique(make, lambda n: f"{base}{chinese_numeral(n)}村")

    def community(self) -> str:
        """东湖社区, 福安社区, 金泉社区 …"""
        rng = self.rng

        def make() -> str:
            first, second = rng.choice(COMMUNITY_FIRST), rng.choice(COMMUNITY_SECOND)
            return first + (second if second != first else "园") + "社区"

        return self._unique(make, lambda n: f"新城第{chinese_numeral(n)}社区")

    def compound(self) -> str:
        """翰林苑小区, 碧水家园, 阳光花园 …"""
        rng = self.rng

        def make() -> str:
            word = rng.choice(COMPOUND_WORDS)
            if rng.random() < 0.5:
                return word + rng.choice(COMPOUND_ENDINGS_SHORT) + "小区"
            return word + rng.choice(COMPOUND_ENDINGS_LONG)

        return self._unique(make, lambda n: f"新建第{chinese_numeral(n)}小区")

    def road(self) -> str:
        """A road name (not unique: many compounds share a road)."""
        return self.rng.choice(ROADS)

    def person(self) -> str:
        """A full name such as 王建华 (not unique: namesakes are normal)."""
        return self.rng.choice(SURNAMES) + self.rng.choice(GIVEN_NAMES)


# ------------------------------------------------------------------ residents

# Given names change with the times: the generation born before 1960 was named
# 建国 and 秀英, the one born after 2010 子轩 and 梓萱. Each pool is a tuple of
# names for (born before 1960, 1960–1979, 1980–1999, 2000 and later).
MALE_GIVEN_NAMES: tuple[tuple[str, ...], ...] = (
    (
        "建国", "建华", "德胜", "德明", "国庆", "国华", "国强", "振华", "志刚", "永福", "永贵", "金山", "福田", "树林",
        "玉山", "宝山", "洪亮", "长友", "守信", "明德", "春生", "秋生", "文祥", "立本", "殿臣", "学礼", "兆丰", "云峰",
        "庆林", "守仁", "传忠", "世民", "克俭", "培元", "贵", "福", "山", "林", "顺", "发", "海", "祥", "成", "明",
    ),
    (
        "建军", "卫东", "红军", "立新", "志强", "永刚", "国栋", "海涛", "振宇", "东升", "新民", "晓光", "向阳", "卫国",
        "春雷", "明亮", "庆华", "宏伟", "志勇", "军", "强", "勇", "刚", "平", "斌", "伟", "涛", "波", "峰", "俊",
        "学军", "延平", "玉亮", "胜利", "建设", "跃进", "建平", "德华", "洪涛", "爱民",
    ),
    (
        "磊", "鹏", "超", "杰", "浩", "亮", "帅", "鑫", "凯", "旭", "健", "宇", "飞", "明", "刚", "俊杰", "晓东",
        "文博", "志伟", "海波", "鹏飞", "晓龙", "家豪", "晓明", "立伟", "建峰", "文杰", "永超", "冬冬", "兴旺", "云龙",
        "振东", "洪波", "大伟", "金龙", "成龙", "海洋", "晨光", "庆松", "凯文",
    ),
    (
        "浩然", "子轩", "宇轩", "一鸣", "思远", "宇航", "俊熙", "皓轩", "沐宸", "奕辰", "子墨", "浩宇", "锦程", "明哲",
        "梓睿", "天佑", "铭泽", "瑞霖", "博文", "晨阳", "子豪", "嘉懿", "一诺", "睿", "轩", "博", "煜", "泽", "辰",
        "宸", "昊天", "梓豪", "俊宇", "子睿", "景行", "修远", "承泽", "书恒", "亦凡", "宇辰",
    ),
)  # fmt: skip
FEMALE_GIVEN_NAMES: tuple[tuple[str, ...], ...] = (
    (
        "秀英", "桂英", "玉兰", "凤英", "秀兰", "桂兰", "玉珍", "秀珍", "淑英", "兰英", "翠英", "玉梅", "淑珍", "素英",
        "美兰", "桂芝", "秀芝", "玉芳", "凤兰", "春英", "玉英", "桂芳", "淑兰", "金凤", "月娥", "英", "兰", "芝",
        "珍", "梅",
    ),
    (
        "红霞", "海燕", "丽娟", "春梅", "晓梅", "玉红", "红梅", "秀芳", "丽华", "美玲", "艳玲", "建英", "卫红", "爱华",
        "晓红", "桂香", "丽萍", "红英", "秀云", "红艳", "丽", "芳", "静", "敏", "霞", "艳", "娟", "萍", "红", "燕",
    ),
    (
        "婷", "静", "娜", "丹", "倩", "雪", "莹", "璐", "晶", "琳", "欣", "慧", "佳", "洁", "娇", "婷婷", "晓丽",
        "文静", "雅琪", "佳琪", "晓燕", "丽娜", "倩倩", "晓雪", "思思", "雪梅", "海霞", "园园", "晓宁", "梦瑶",
    ),
    (
        "欣怡", "梓萱", "雨欣", "子涵", "诗涵", "梓涵", "一诺", "若汐", "语桐", "可馨", "思彤", "雨桐", "佳怡", "欣妍",
        "紫涵", "心怡", "梦琪", "语嫣", "沐晴", "芷若", "诗琪", "依依", "悦", "彤", "涵", "萱", "瑶", "琪", "妍",
        "馨",
    ),
)  # fmt: skip
GENERATION_STARTS = (1960, 1980, 2000)  # first birth year of the 2nd, 3rd and 4th pool

# Surnames are far from equally common: 王, 李, 张 and 刘 alone make up a good
# share of any Jiaozhou village. Weights fall with the position in SURNAMES.
SURNAME_CUM_WEIGHTS: tuple[float, ...] = tuple(
    sum(1 / (rank + 4) for rank in range(position + 1)) for position in range(len(SURNAMES))
)


def surname(rng: random.Random) -> str:
    """A surname, the frequent ones more often."""
    return rng.choices(SURNAMES, cum_weights=SURNAME_CUM_WEIGHTS)[0]


def given_name(rng: random.Random, *, male: bool, birth_year: int) -> str:
    """A given name fitting the sex and the generation (建国 for a man born in 1950, 梓萱 for a girl of 2015)."""
    generation = sum(1 for start in GENERATION_STARTS if birth_year >= start)
    pools = MALE_GIVEN_NAMES if male else FEMALE_GIVEN_NAMES
    return rng.choice(pools[generation])
