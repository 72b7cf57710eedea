"""Demo and benchmark registry of Tianhe district (演示数据): institution documents (机构档案) in the exact
shape of the institution document in the data formats, generated deterministically from a seed.

The stream looks like a real district registry: about 30 % subject (学科类) institutions, mostly non-profit
and approved before the 2021-07-24 ban, and 70 % non-subject ones (sports, arts, science and technology, …);
Chinese names and addresses in the 21 subdistricts (街道) of Tianhe; unified social credit codes with
correct check characters. Most institutions (about three quarters) are clean; the rest carry, each
independently and each at a rate of a few percent, one of the problems the rule catalogue looks for
(expired or suspended licences, unlicensed operators, late or rest-day lessons, oversize prepaid packages,
teachers without a certificate, cramped premises, missing escrow, …).

Only ``random.Random(seed)`` is used (its ``random()`` method, whose output is stable across Python
versions), never the global generator or the wall clock. Documents are produced one at a time, so a stream of
any length runs in constant memory apart from a few megabytes of bookkeeping that keeps names unique. The
output of ``generate(n)`` is a prefix of the output of ``generate(m)`` for ``n <= m`` with the same seed and
business date.
"""

from __future__ import annotations

from array import array
from bisect import bisect
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from random import Random
from typing import Any

import orjson

from rules.uscc import ALPHABET, check_character

__all__ = ["DEFAULT_AS_OF", "DEFAULT_SEED", "GRIDS", "MAX_COUNT", "generate", "write_jsonl"]

DEFAULT_SEED = 2026
DEFAULT_AS_OF = date(2026, 11, 30)

# Licence serial numbers have seven digits, so this many institutions can be told apart.
MAX_COUNT = 10_000_000

Doc = dict[str, Any]

# --------------------------------------------------------------------------------------------------------
# Rates. Each problem is drawn independently for the institutions it can apply to.

_P_BAD_CHECK = 0.005  # REG-USCC-CHECKSUM
_P_NATURE_MISMATCH = 0.02  # REG-NATURE-MISMATCH
_P_UNLICENSED = 0.01  # LIC-NONE
_P_EXPIRED = 0.025  # LIC-EXPIRED
_P_LIC_INACTIVE = 0.015  # LIC-INACTIVE
_P_LATE_SUBJECT = 0.05  # TIME-OFFLINE-LATE, subject institutions
_P_LATE_OTHER = 0.005  # TIME-OFFLINE-LATE, non-subject institutions
_P_RESTDAY = 0.05  # TIME-SUBJECT-RESTDAY, subject institutions
_P_OVERSIZE = 0.03  # FEE-PREPAY-CAP
_P_NO_CERT = 0.05  # STAFF-NO-CERT, subject institutions
_P_SERVING = 0.02  # STAFF-SERVING-TEACHER
_P_SMALL_PREMISES = 0.02  # PREM-AREA
_P_SUBJECT_NEW = 0.04  # BAN-SUBJECT-NEW, subject institutions
_P_FOR_PROFIT_SUBJECT = 0.05  # NPO-SUBJECT, subject institutions
_P_OUT_OF_SCOPE = 0.025  # LIC-SCOPE
_P_ONLINE_LONG = 0.015  # TIME-ONLINE-LESSON
_P_NO_ESCROW = 0.02  # FEE-NO-ESCROW
_P_PRICE = 0.04  # FEE-PRICE-CAP, subject institutions
_P_PRESCHOOL_NEW = 0.02  # BAN-PRESCHOOL-NEW, non-subject institutions approved after the ban

_BAN_FROM = date(2021, 7, 24)

# --------------------------------------------------------------------------------------------------------
# Vocabulary.

# The 21 subdistricts (街道) of Tianhe, with a relative density of training institutions and some of their
# streets.
_GRID_TABLE: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("五山", 4, ("五山路", "瘦狗岭路", "茶山路", "粤垦路")),
    ("员村", 5, ("员村一横路", "员村二横路", "员村四横路", "黄埔大道中", "临江大道", "程界东路")),
    ("车陂", 6, ("车陂路", "车陂北街", "东圃大马路", "东圃二马路", "黄埔大道中")),
    ("沙河", 4, ("沙河大街", "先烈东路", "广州大道北", "濂泉路")),
    ("石牌", 8, ("石牌东路", "石牌西路", "龙口西路", "天河路", "天河北路", "中山大道西")),
    ("沙东", 3, ("沙太路", "广园东路", "燕岭路", "沙东街")),
    ("天河南", 8, ("天河路", "体育东路", "体育西路", "天河南一路", "天河南二路", "龙口东路")),
    ("林和", 6, ("林和西路", "林和中路", "林和东路", "天河北路", "广州大道北")),
    ("兴华", 4, ("广园东路", "燕岭路", "兴华路", "沙太路")),
    ("棠下", 7, ("中山大道中", "棠东东路", "荷光路", "科韵中路", "棠下二社大街")),
    ("天园", 6, ("天府路", "中山大道西", "华景路", "天园路")),
    ("猎德", 6, ("猎德大道", "花城大道", "金穗路", "黄埔大道西", "华夏路")),
    ("冼村", 6, ("冼村路", "黄埔大道西", "兴盛路", "马场路", "华穗路")),
    ("元岗", 3, ("元岗路", "天源路", "广汕一路")),
    ("黄村", 3, ("黄村路", "黄村大道", "中山大道中", "奥体路")),
    ("长兴", 3, ("长兴路", "岑村大道", "广汕一路")),
    ("龙洞", 3, ("龙洞北路", "龙洞东路", "广汕二路")),
    ("凤凰", 2, ("广汕二路", "柯木塱南路", "渔沙坦大街")),
    ("前进", 3, ("前进路", "中山大道东", "东圃镇大街")),
    ("珠吉", 2, ("珠吉路", "中山大道东", "吉山大街")),
    ("新塘", 3, ("新塘大街", "广汕一路", "大观中路", "高唐路")),
)
GRIDS: tuple[str, ...] = tuple(g for g, _, _ in _GRID_TABLE)


def _words(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(text.split()))


# Two-character brand words (字号); a brand is one word or two. No word starts with 天 or 市 (so the city
# prefixes below never blur into a brand) and no word is the start of a name tail.
_BRAND_WORDS = _words(
    """
    启明 星艺 博学 智慧 博雅 英才 育才 书香 翰墨 乐知 思源 明德 致远 弘毅 卓越 新航 领航 远航 启航 未来
    阳光 晨曦 彩虹 蓝天 青苗 春芽 童心 乐学 优学 知行 格致 睿思 慧心 灵犀 新知 博文 文华 华章 墨香 琴韵
    悦音 和声 韵律 舞动 飞扬 跃动 健将 冠军 飞鹰 雄鹰 海豚 星辰 银河 宇航 极客 创客 码趣 积木 清源 北辰
    南粤 岭南 羊城 穗华 珠江 花城 木棉 紫荆 金桂 翠竹 青松 白云 明珠 东方 华夏 中天 鼎新 博源 启智 开元
    正心 立人 树人 成蹊 桃李 杏坛 春晖 朝阳 旭日 晨星 起点 新苗 小鹿 鲸鱼 熊猫 方圆 致知 笃行 慧源 启迪
    明道 尚学 学思 思齐 博识 智源 聚英 群英 精英 英杰 俊才 贤德 德馨 兰亭 竹韵 松风 云帆 扬帆 青蓝 蓝图
    宏图 鸿鹄 鲲鹏 展翅 凌云 青云 云端 星空 星河 星光 晨光 曙光 光华 英华 英睿 睿智 智达 卓立 立德 德润
    润泽 远大 大道 和美 好学 学优 优才 俊杰 新锐 锐思 维新 东升 升华 嘉禾 丰禾 禾苗 知音 雅韵 清风 明月
    """
)
# Words appended to tell apart two institutions that drew the same brand and tail. Disjoint from the brand
# words, so every name parses back into prefix, brand words, distinguishing words and tail: the ground of the
# uniqueness argument in ``_Names``.
_EXTRA_WORDS = tuple(
    w
    for w in _words(
        """
        嘉华 嘉德 宏达 宏远 恒信 恒远 华誉 汇智 汇英 佳音 锦程 锦华 金榜 精诚 骏马 凯旋 康桥 蓝鲸 乐童 力行
        联创 灵动 美誉 名扬 明思 鹏程 品学 齐飞 千帆 瑞丰 瑞智 睿博 尚德 盛世 时代 硕博 泰和 童趣 万象 文博
        文轩 向上 馨悦 鑫诚 星耀 旭升 耀华 壹品 亿诚 逸飞 益智 远见 悦读 云起 哲思 正道 志成 智美 众诚 卓尔
        子衿 长青 常春 同心 同创 新星 新元 华英 恒誉 博达
        """
    )
    if w not in _BRAND_WORDS
)

# Name tails by (kind, nature). 民办非企业单位 are centres or schools, companies are 有限公司.
_TAILS: dict[tuple[str, str], tuple[str, ...]] = {
    ("subject", "non_profit"): ("教育培训中心", "培训中心", "文化培训中心", "学科培训中心", "培训学校"),
    ("subject", "for_profit"): (
        "教育培训有限公司",
        "教育科技有限公司",
        "文化教育有限公司",
        "教育咨询有限公司",
    ),
    ("arts", "non_profit"): ("艺术培训中心", "文化艺术培训中心", "艺术培训学校"),
    ("arts", "for_profit"): ("艺术培训有限公司", "文化艺术有限公司", "艺术教育有限公司", "文化传播有限公司"),
    ("sports", "non_profit"): ("体育培训中心", "体育运动培训中心"),
    ("sports", "for_profit"): (
        "体育发展有限公司",
        "体育文化有限公司",
        "体育俱乐部有限公司",
        "体育科技有限公司",
    ),
    ("science_tech", "non_profit"): ("科技培训中心", "科技教育培训中心"),
    ("science_tech", "for_profit"): ("科技教育有限公司", "教育科技有限公司", "科技培训有限公司"),
    ("comprehensive_practice", "non_profit"): ("素质教育培训中心", "实践教育培训中心"),
    ("comprehensive_practice", "for_profit"): ("研学教育有限公司", "素质教育科技有限公司"),
    ("other", "non_profit"): ("文化培训中心", "素质教育培训中心"),
    ("other", "for_profit"): ("文化传播有限公司", "文化发展有限公司", "教育咨询有限公司"),
}
_TAIL_LIST: tuple[str, ...] = tuple(dict.fromkeys(t for ts in _TAILS.values() for t in ts))
_TAIL_INDEX = {t: i for i, t in enumerate(_TAIL_LIST)}

_PREFIX_NON_PROFIT = "广州市天河区"
_PREFIXES_FOR_PROFIT = ("广州天河", "广州天河", "广州市", "广州")

_SURNAMES = tuple(
    "陈黄李张梁林刘王吴何罗郑杨谢冯周邓朱叶曾徐苏蔡许钟赵胡卢郭彭潘麦江谭余萧温丘伍陆孙马高唐宋韩"
    "董袁蒋姚方龚严廖欧区莫甘覃关邹汤简黎程邱"
)

_BANKS = (
    "中国工商银行天河支行",
    "中国建设银行天河支行",
    "中国银行天河支行",
    "中国农业银行天河支行",
    "交通银行天河支行",
    "招商银行天河支行",
    "广州银行天河支行",
    "广州农村商业银行天河支行",
    "兴业银行天河支行",
    "中信银行天河支行",
)

_SCHOOL_STAGES = ("primary", "junior", "senior")
_COMPULSORY = frozenset(("primary", "junior"))
_STAGE_ORDER = {"preschool": 0, "primary": 1, "junior": 2, "senior": 3}

# Subject (学科类) courses: discipline weights and grade labels per stage.
_SUBJECT_NAMES = {
    "math": "数学",
    "chinese": "语文",
    "foreign_language": "英语",
    "physics": "物理",
    "chemistry": "化学",
    "biology": "生物",
    "history": "历史",
    "geography": "地理",
    "moral_law": "道德与法治",
}
_SUBJECTS_BY_STAGE: dict[str, tuple[tuple[str, int], ...]] = {
    "primary": (("math", 40), ("chinese", 30), ("foreign_language", 30)),
    "junior": (
        ("math", 30),
        ("foreign_language", 20),
        ("chinese", 14),
        ("physics", 15),
        ("chemistry", 8),
        ("biology", 4),
        ("history", 3),
        ("geography", 3),
        ("moral_law", 3),
    ),
    "senior": (
        ("math", 25),
        ("physics", 20),
        ("chemistry", 15),
        ("foreign_language", 15),
        ("chinese", 10),
        ("biology", 9),
        ("history", 2),
        ("geography", 2),
        ("moral_law", 2),
    ),
}
_GRADES = {
    "primary": ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级"),
    "junior": ("初一", "初二", "初三"),
    "senior": ("高一", "高二", "高三"),
}
_SUBJECT_SUFFIXES = ("同步", "同步", "同步辅导", "培优", "提高班", "基础巩固", "精讲", "专项训练")

# Non-subject courses: title stems, typical lesson lengths, class sizes and prices per lesson (fen).
_DISCIPLINES = ("arts", "sports", "science_tech", "other", "comprehensive_practice")
_DISCIPLINE_WEIGHTS = (40, 27, 18, 10, 5)
_NON_SUBJECT: dict[str, dict[str, tuple[Any, ...]]] = {
    "arts": {
        "stems": (
            "美术",
            "素描",
            "创意绘画",
            "国画",
            "钢琴",
            "古筝",
            "小提琴",
            "尤克里里",
            "中国舞",
            "芭蕾",
            "街舞",
            "声乐",
            "硬笔书法",
            "软笔书法",
            "架子鼓",
            "播音主持",
        ),
        "suffixes": ("", "", "基础", "启蒙", "考级班", "提高班"),
        "minutes": (45, 60, 60, 90),
        "class": (1, 4, 6, 8, 10, 12, 15),
        "price": (8000, 30000),
    },
    "sports": {
        "stems": (
            "篮球",
            "足球",
            "游泳",
            "羽毛球",
            "乒乓球",
            "跆拳道",
            "武术",
            "轮滑",
            "体适能",
            "网球",
            "击剑",
            "跳绳",
            "田径",
        ),
        "suffixes": ("", "", "入门", "提高班", "启蒙"),
        "minutes": (60, 60, 90, 90, 120),
        "class": (6, 8, 10, 12, 15, 20),
        "price": (8000, 20000),
    },
    "science_tech": {
        "stems": (
            "编程",
            "Scratch编程",
            "Python编程",
            "机器人搭建",
            "科学实验",
            "航模制作",
            "3D打印",
            "无人机",
        ),
        "suffixes": ("", "入门", "进阶", "启蒙"),
        "minutes": (60, 90, 90, 120),
        "class": (4, 6, 8, 10, 12),
        "price": (10000, 22000),
    },
    "other": {
        "stems": ("围棋", "国际象棋", "中国象棋", "魔方", "演讲与口才"),
        "suffixes": ("", "入门", "提高班", "段位班"),
        "minutes": (60, 90, 90),
        "class": (6, 8, 10, 12, 16),
        "price": (6000, 15000),
    },
    "comprehensive_practice": {
        "stems": ("自然探索", "劳动实践", "财商启蒙", "安全教育实践", "生活技能"),
        "suffixes": ("", "体验课", "实践营"),
        "minutes": (60, 90, 120),
        "class": (10, 12, 15, 20, 25),
        "price": (6000, 15000),
    },
}

# Guided base prices of the Guangzhou overlay (fen per student per standard lesson).
_ONLINE_BASE = 2000


def _offline_base(class_size: int) -> int:
    if class_size <= 10:
        return 7000
    if class_size <= 20:
        return 5000
    if class_size <= 30:
        return 4000
    return 3500


_SUBJECT_CLASS_OFFLINE = (1, 3, 6, 8, 8, 10, 10, 12, 15, 15, 20, 25, 30, 35, 40)
_SUBJECT_CLASS_ONLINE = (1, 6, 10, 20, 30, 50)

_HHMM: tuple[str, ...] = tuple(f"{m // 60:02d}:{m % 60:02d}" for m in range(24 * 60))
_LATEST_END = 20 * 60 + 30  # 20:30
_AFTER_SCHOOL = (990, 1020, 1050, 1080, 1110, 1140, 1155, 1170, 1185)  # 16:30 … 19:45
_DAYTIME = (510, 540, 570, 600, 630, 840, 870, 900, 930, 960, 990, 1140)  # 08:30 … 19:00
_ONLINE_EVENING = (1110, 1140, 1170, 1200)  # 18:30 … 20:00

# Statutory holidays (days off) to keep clean subject sessions away from: the State Council arrangements
# for 2025 and 2026, and the fixed-date ones for the neighbouring years.
_HOLIDAY_RANGES = (
    ((2025, 1, 28), (2025, 2, 4)),
    ((2025, 5, 31), (2025, 6, 2)),
    ((2026, 2, 15), (2026, 2, 23)),
    ((2026, 6, 19), (2026, 6, 21)),
    ((2026, 9, 25), (2026, 9, 27)),
)
_FIXED_HOLIDAYS = (((1, 1), (1, 3)), ((4, 4), (4, 6)), ((5, 1), (5, 5)), ((10, 1), (10, 8)))


def _holidays(as_of: date) -> frozenset[int]:
    days: set[int] = set()
    for (y0, m0, d0), (y1, m1, d1) in _HOLIDAY_RANGES:
        days.update(range(date(y0, m0, d0).toordinal(), date(y1, m1, d1).toordinal() + 1))
    for year in range(as_of.year - 2, as_of.year + 3):
        for (m0, d0), (m1, d1) in _FIXED_HOLIDAYS:
            days.update(range(date(year, m0, d0).toordinal(), date(year, m1, d1).toordinal() + 1))
    return frozenset(days)


def _semester(as_of: date) -> tuple[int, int]:
    """The school semester containing ``as_of`` (or the next one, in a vacation), as ordinals. Autumn runs
    1 September to 18 January, spring 2 March to 5 July: inside the Guangzhou school calendar, so a clean
    subject course's term never touches a winter or summer vacation."""
    y = as_of.year
    autumn_prev = (date(y - 1, 9, 1), date(y, 1, 18))
    spring = (date(y, 3, 2), date(y, 7, 5))
    autumn = (date(y, 9, 1), date(y + 1, 1, 18))
    if as_of <= autumn_prev[1]:
        start, end = autumn_prev
    elif as_of <= spring[1]:
        start, end = spring
    else:
        start, end = autumn
    return start.toordinal(), end.toordinal()


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _org_code_check(digits: str) -> str:
    """GB 11714 check character of an eight-digit organisation code (the pre-2015 codes)."""
    total = sum(int(c) * w for c, w in zip(digits, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def _weighted(items: Sequence[tuple[Any, int]]) -> tuple[tuple[Any, ...], tuple[int, ...], int]:
    cum: list[int] = []
    total = 0
    for _, w in items:
        total += w
        cum.append(total)
    return tuple(i for i, _ in items), tuple(cum), total


_GRID_PICK = _weighted([((g, roads), w) for g, w, roads in _GRID_TABLE])
_SUBJECT_PICK = {stage: _weighted(ws) for stage, ws in _SUBJECTS_BY_STAGE.items()}
_DISCIPLINE_PICK = _weighted(list(zip(_DISCIPLINES, _DISCIPLINE_WEIGHTS, strict=True)))
# Licence scope stages of subject institutions.
_SUBJECT_SCOPES = _weighted(
    [
        (("primary",), 14),
        (("junior",), 16),
        (("senior",), 8),
        (("primary", "junior"), 30),
        (("junior", "senior"), 18),
        (("primary", "junior", "senior"), 14),
    ]
)
_NON_SUBJECT_SCOPES = _weighted(
    [
        (("primary",), 12),
        (("primary", "junior"), 30),
        (("primary", "junior", "senior"), 18),
        (("junior", "senior"), 6),
        (("preschool", "primary"), 18),
        (("preschool", "primary", "junior"), 16),
    ]
)


class _Names:
    """Unique institution names: prefix + brand (one or two brand words) + distinguishing words + tail.

    Brand words, distinguishing words and tail starts are disjoint sets of two-character words, so a name
    parses back into its parts; two names are equal only if brand, distinguishing words and tail are. Each
    (brand, tail) key counts its uses and the n-th reuse gets the n-th sequence of distinguishing words
    (one word for the first few dozen reuses, then two, …), so names never repeat however many are drawn,
    and in a registry of district size most names are plain ("广州市天河区启明教育培训中心")."""

    def __init__(self) -> None:
        self.v = len(_BRAND_WORDS)
        self.brands = self.v + self.v * self.v  # one-word and two-word brands
        self.uses = array("I", bytes(4 * self.brands * len(_TAIL_LIST)))

    def name(self, prefix: str, brand_no: int, tail: str) -> str:
        """The name for brand number ``brand_no`` (0 <= brand_no < ``self.brands``) with ``tail``."""
        v = self.v
        key = brand_no * len(_TAIL_LIST) + _TAIL_INDEX[tail]
        n = self.uses[key]
        self.uses[key] = n + 1
        if brand_no < v:
            brand = _BRAND_WORDS[brand_no]
        else:
            brand = _BRAND_WORDS[(brand_no - v) % v] + _BRAND_WORDS[(brand_no - v) // v]
        if n:
            brand += _distinguishing(n - 1, key)
        return prefix + brand + tail


def _distinguishing(n: int, key: int) -> str:
    """The ``n``-th sequence (n >= 0) of distinguishing words: all sequences of length 1, then of length 2,
    …; the first word is rotated by ``key`` so that different brands do not all start with the same one."""
    e = len(_EXTRA_WORDS)
    length, block = 1, e
    while n >= block:
        n -= block
        length += 1
        block *= e
    words = []
    for i in range(length):
        n, digit = divmod(n, e)
        words.append(_EXTRA_WORDS[(digit + key) % e] if i == 0 else _EXTRA_WORDS[digit])
    return "".join(words)


class _Builder:
    """One deterministic stream of institution documents."""

    def __init__(self, seed: int, as_of: date) -> None:
        rng = Random(seed)
        self.r: Callable[[], float] = rng.random
        r = self.r
        self.as_of = as_of
        self.as_of_ord = as_of.toordinal()
        self.ban_ord = _BAN_FROM.toordinal()
        self.names = _Names()
        self.holidays = _holidays(as_of)
        self.sem_start, self.sem_end = _semester(as_of)
        # Affine bijections of the index onto each code space, with seed-dependent offsets: codes look
        # scattered, and two indices never share one.
        self.org_new_mod = 31**6
        self.org_new_mul = 387_420_489  # 3**18, coprime to 31
        self.org_new_add = int(r() * self.org_new_mod)
        self.org_old_mod = 10**8
        self.org_old_mul = 48_271_093  # coprime to 10
        self.org_old_add = int(r() * self.org_old_mod)
        self.lic_mod = 10**7
        self.lic_mul = 3_021_377  # coprime to 10
        self.lic_add = int(r() * self.lic_mod)
        self._starts: dict[tuple[str, int], tuple[int, ...]] = {}
        self._iso: dict[int, str] = {}
        # Date ranges of first approvals.
        as_of_ord = self.as_of_ord
        self.subject_lo = min(date(2008, 1, 1).toordinal(), as_of_ord - 4000)
        self.subject_hi = min(self.ban_ord - 1, as_of_ord)
        self.other_lo = min(date(2015, 1, 1).toordinal(), as_of_ord - 4000)

    # ---- small helpers -------------------------------------------------------------------------------

    def iso(self, ordinal: int) -> str:
        """The ISO date of a proleptic ordinal (memoised: a stream uses a few thousand distinct dates)."""
        found = self._iso.get(ordinal)
        if found is None:
            found = self._iso[ordinal] = date.fromordinal(ordinal).isoformat()
        return found

    def pick(self, seq: Sequence[Any]) -> Any:
        return seq[int(self.r() * len(seq))]

    def weighted(self, table: tuple[tuple[Any, ...], tuple[int, ...], int]) -> Any:
        items, cum, total = table
        return items[bisect(cum, self.r() * total)]

    def between(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi]."""
        return lo + int(self.r() * (hi - lo + 1))

    def starts(self, kind: str, minutes: int, latest_end: int = _LATEST_END) -> tuple[int, ...]:
        key = (kind, minutes)
        found = self._starts.get(key)
        if found is None:
            base = {"after_school": _AFTER_SCHOOL, "daytime": _DAYTIME, "online": _ONLINE_EVENING}[kind]
            found = tuple(s for s in base if s + minutes <= latest_end) or (base[0],)
            self._starts[key] = found
        return found

    # ---- identity --------------------------------------------------------------------------------------

    def uscc(self, index: int, non_profit: bool, old_style: bool) -> str:
        head = "52440106" if non_profit else "91440106"
        if old_style:
            digits = f"{(self.org_old_mul * index + self.org_old_add) % self.org_old_mod:08d}"
            org = digits + _org_code_check(digits)
        else:
            x = (self.org_new_mul * index + self.org_new_add) % self.org_new_mod
            tail = []
            for _ in range(6):
                x, d = divmod(x, 31)
                tail.append(ALPHABET[d])
            org = ("MJL" if non_profit else "MA5") + "".join(tail)
        first17 = head + org
        return first17 + check_character(first17)

    # ---- the document -----------------------------------------------------------------------------------

    def institution(self, index: int) -> Doc:
        r = self.r
        pick = self.pick
        as_of_ord = self.as_of_ord

        subject_kind = r() < 0.30
        discipline = "subject" if subject_kind else self.weighted(_DISCIPLINE_PICK)
        if subject_kind:
            for_profit = False
            for_profit_subject = r() < _P_FOR_PROFIT_SUBJECT
            subject_new = r() < _P_SUBJECT_NEW and as_of_ord >= self.ban_ord
        else:
            for_profit = r() < 0.75
            for_profit_subject = subject_new = False

        # Status of the institution and of its licence.
        unlicensed = r() < _P_UNLICENSED
        lic_inactive = not unlicensed and r() < _P_LIC_INACTIVE
        expired = not unlicensed and r() < _P_EXPIRED
        x = r()
        status = (
            "operating" if x < 0.95 or unlicensed or lic_inactive else "suspended" if x < 0.98 else "closed"
        )

        # Licence scope first, courses within it.
        if subject_kind:
            stages = list(self.weighted(_SUBJECT_SCOPES))
            if for_profit_subject and not (_COMPULSORY & set(stages)):
                stages.insert(0, "junior")
            categories = ["subject", "non_subject"] if r() < 0.12 else ["subject"]
            first = self.between(self.ban_ord, as_of_ord) if subject_new else None
            if first is None:
                first = self.between(self.subject_lo, self.subject_hi)
        else:
            first = self.between(self.other_lo, as_of_ord)
            stages = list(self.weighted(_NON_SUBJECT_SCOPES))
            # No new preschool institutions after the ban; the few that are kept (a third of the scopes
            # name preschool) are BAN-PRESCHOOL-NEW.
            if first >= self.ban_ord and stages[0] == "preschool" and r() >= _P_PRESCHOOL_NEW / 0.34:
                del stages[0]
            categories = ["non_subject"]
        x = r()
        if x < 0.86:
            modes = ["offline"]
        elif x < 0.97 or "preschool" in stages or discipline in ("sports", "arts", "comprehensive_practice"):
            modes = ["offline", "online"]
        else:
            modes = ["online"]
        non_profit = not (for_profit or for_profit_subject)

        # Identity.
        old_style = first < date(2016, 1, 1).toordinal() and r() < 0.7
        uscc = self.uscc(index, non_profit, old_style)
        if r() < _P_BAD_CHECK:
            right = ALPHABET.index(uscc[17])
            uscc = uscc[:17] + ALPHABET[(right + 1 + int(r() * 30)) % 31]
        declared_non_profit = non_profit
        if r() < _P_NATURE_MISMATCH:
            declared_non_profit = not non_profit
        nature = "non_profit" if declared_non_profit else "for_profit"
        tail_key = "subject" if subject_kind else discipline
        tail = pick(_TAILS[(tail_key, "non_profit" if non_profit else "for_profit")])
        prefix = _PREFIX_NON_PROFIT if non_profit else pick(_PREFIXES_FOR_PROFIT)
        v = self.names.v
        if r() < 0.7:
            brand_no = int(r() * v)
        else:
            pair = int(r() * v * v)
            if pair % v == pair // v:  # not the same word twice
                pair = (pair + 1) % (v * v)
            brand_no = v + pair
        name = self.names.name(prefix, brand_no, tail)

        grid, roads = self.weighted(_GRID_PICK)
        street = f"广州市天河区{grid}街道{pick(roads)}{self.between(1, 899)}号"

        licence = None
        if not unlicensed:
            licence = self.licence(index, first, categories, stages, modes, expired, lic_inactive, status)

        premises = self.premises(street, grid, roads, discipline, r() < _P_SMALL_PREMISES)
        teachers = self.teachers(subject_kind, r() < _P_SERVING)

        # Escrow.
        no_escrow = r() < _P_NO_ESCROW
        oversize = r() < _P_OVERSIZE
        x = r()
        escrow: Doc | None = None
        if not no_escrow and (x < 0.85 or oversize):  # no supervised account: no prepaid packages
            mode = "risk_reserve" if 0.62 <= x < 0.85 else "bank_custody"
            escrow = {"mode": mode, "bank": pick(_BANKS), "account_last4": f"{int(r() * 10000):04d}"}

        # Courses.
        n_courses = 1 + bisect((0.3, 0.65, 0.85), r())
        courses: list[Doc] = []
        titles: set[str] = set()
        package_no = 0
        for c in range(n_courses):
            for _attempt in range(4):
                if "subject" in categories and (c == 0 or categories == ["subject"] or r() < 0.7):
                    course = self.subject_course(c + 1, stages, modes, teachers)
                else:
                    d = discipline if not subject_kind and r() < 0.8 else self.weighted(_DISCIPLINE_PICK)
                    course = self.non_subject_course(c + 1, d, stages, modes, teachers)
                if course["title"] not in titles:
                    break
            else:
                course["title"] += f"（{c + 1}班）"
            titles.add(course["title"])
            if escrow is not None:
                x = r()
                for _ in range(0 if x < 0.35 else 1 if x < 0.8 else 2):
                    package_no += 1
                    course["prepaid_packages"].append(self.package(package_no, course))
            courses.append(course)

        # Course-level problems, applied where they can be.
        if oversize:
            course = pick(courses)
            package_no += 1
            course["prepaid_packages"].append(self.oversize_package(package_no, course))
        if no_escrow:
            course = pick(courses)
            package_no += 1
            course["prepaid_packages"].append(self.package(package_no, course))
        subject_courses = [c for c in courses if c["category"] == "subject"]
        if subject_courses:
            if r() < _P_LATE_SUBJECT:
                self.make_late(subject_courses)
            if r() < _P_RESTDAY:
                self.make_restday(pick(subject_courses))
            if r() < _P_NO_CERT:
                course = pick(subject_courses)
                t = int(course["teacher_codes"][0][1:]) - 1
                teachers[t]["has_teacher_certificate"] = False
            if r() < _P_PRICE:
                self.make_overpriced(subject_courses)
        elif r() < _P_LATE_OTHER:
            self.make_late(courses)
        if r() < _P_ONLINE_LONG:
            self.make_online(courses, 40, licence["scope"]["modes"] if licence else [])
        if licence is not None and r() < _P_OUT_OF_SCOPE:
            self.make_out_of_scope(courses, licence["scope"])

        return {
            "uscc": uscc,
            "name": name,
            "nature": nature,
            "status": status,
            "district": "天河区",
            "grid": grid,
            "address": street,
            "licence": licence,
            "escrow": escrow,
            "premises": premises,
            "teachers": teachers,
            "courses": courses,
        }

    def licence(
        self,
        index: int,
        first: int,
        categories: list[str],
        stages: list[str],
        modes: list[str],
        expired: bool,
        inactive: bool,
        status: str,
    ) -> Doc:
        r = self.r
        years = 3 if r() < 0.3 else 5
        first_d = date.fromordinal(first)
        if expired:
            until = self.as_of_ord - self.between(1, 500)
            issued_d = _add_years(date.fromordinal(until + 1), -years)
            if issued_d.toordinal() < first:
                first_d = issued_d
            until_d = date.fromordinal(until)
        else:
            # Renewed every ``years`` years since the first approval; the current one covers as_of.
            k = max(0, (self.as_of.year - first_d.year) // years - 1)
            while _add_years(first_d, (k + 1) * years) <= self.as_of:
                k += 1
            issued_d = _add_years(first_d, k * years)
            until_d = date.fromordinal(_add_years(first_d, (k + 1) * years).toordinal() - 1)
        if inactive:
            lic_status = "suspended" if r() < 0.65 else "revoked"
        elif status == "closed" and r() < 0.5:
            lic_status = "revoked"
        elif status == "suspended" and r() < 0.5:
            lic_status = "suspended"
        else:
            lic_status = "valid"
        serial = (self.lic_mul * index + self.lic_add) % self.lic_mod
        return {
            "number": f"教民14401067{serial:07d}号",
            "first_approved_on": self.iso(first_d.toordinal()),
            "issued_on": self.iso(issued_d.toordinal()),
            "valid_until": self.iso(until_d.toordinal()),
            "status": lic_status,
            "scope": {"categories": list(categories), "stages": list(stages), "modes": list(modes)},
        }

    def premises(
        self, street: str, grid: str, roads: Sequence[str], discipline: str, small: bool
    ) -> list[Doc]:
        r = self.r
        lo, hi = {
            "subject": (800, 5000),
            "sports": (3000, 20000),
            "arts": (600, 4000),
            "science_tech": (800, 3000),
            "comprehensive_practice": (1000, 6000),
            "other": (600, 3000),
        }[discipline]
        out = []
        n = 2 if r() < 0.25 else 1
        for p in range(n):
            tenths = self.between(lo, hi)
            if r() < 0.3:
                tenths -= tenths % 10
            if small and p == 0:
                students = tenths // self.between(15, 28) + 1  # under 3 m² a head
            else:
                students = max(1, tenths // self.between(32, 80))
            if p == 0:
                address = street
            else:
                address = f"广州市天河区{grid}街道{self.pick(roads)}{self.between(1, 899)}号"
            x = r()
            floor = self.between(1, 12)
            if x < 0.5:
                address += f"{floor}楼"
            elif x < 0.8:
                address += f"{floor}楼{floor}{self.between(1, 30):02d}室"
            else:
                address += f"{'ABC'[int(r() * 3)]}座{floor}楼"
            area = f"{tenths // 10}" if tenths % 10 == 0 else f"{tenths // 10}.{tenths % 10}"
            out.append(
                {
                    "code": f"P{p + 1}",
                    "address": address,
                    "area_m2": area,
                    "max_concurrent_students": students,
                }
            )
        return out

    def teachers(self, subject_kind: bool, serving: bool) -> list[Doc]:
        r = self.r
        n = 1 + bisect((0.2, 0.55, 0.85), r())
        used: list[str] = []
        while len(used) < n:
            s = self.pick(_SURNAMES)
            if s not in used:
                used.append(s)
        cert_rate = 1.0 if subject_kind else 0.6
        out = [
            {
                "code": f"T{i + 1}",
                "name": f"{s}老师",
                "has_teacher_certificate": r() < cert_rate,
                "serving_school_teacher": False,
            }
            for i, s in enumerate(used)
        ]
        if serving:
            out[int(r() * n)]["serving_school_teacher"] = True
        return out

    # ---- courses --------------------------------------------------------------------------------------

    def term(self, subject: bool) -> tuple[int, int]:
        r = self.r
        start, end = self.sem_start, self.sem_end
        x = r()
        if subject or x < 0.6:
            start += int(r() * 15)
            end -= int(r() * 11)
        elif x < 0.85:  # the whole school year
            if date.fromordinal(start).month == 3:
                start = date(date.fromordinal(start).year - 1, 9, 1).toordinal()
            end = date(date.fromordinal(start).year + 1, 7, 10).toordinal()
        else:  # a rolling quarter around as_of
            start = self.as_of_ord - int(r() * 60)
            end = start + 90
        return start, end

    def slots(self, n: int, weekend_rate: float, minutes: int, online: bool) -> list[Doc]:
        r = self.r
        out: list[Doc] = []
        days: list[int] = []
        for _ in range(n):
            if r() < weekend_rate:
                day = 6 + int(r() * 2)
                starts = self.starts("daytime", minutes)
            else:
                day = 1 + int(r() * 5)
                starts = self.starts("online" if online else "after_school", minutes)
            start = starts[int(r() * len(starts))]
            while day in days:
                day = day % 7 + 1 if weekend_rate else day % 5 + 1
            days.append(day)
            out.append({"weekday": day, "start": _HHMM[start], "end": _HHMM[start + minutes]})
        out.sort(key=lambda s: s["weekday"])
        return out

    def sessions(self, lo: int, hi: int, subject: bool, minutes: int, online: bool) -> list[Doc]:
        """0–3 one-off lessons on distinct days in the term ``lo``–``hi`` (ordinals)."""
        r = self.r
        x = r()
        n = 0 if x < 0.5 else 1 if x < 0.75 else 2 if x < 0.9 else 3
        if not n:
            return []
        holidays = self.holidays
        seen: set[int] = set()
        out = []
        span = max(1, hi - lo - 13)  # leaves room to step over a holiday week
        for _ in range(n):
            day = lo + int(r() * span)
            if subject:
                # Clean subject lessons are on school days: step to the next one.
                while (day - 1) % 7 >= 5 or day in holidays or day in seen:
                    day += 1
            elif day in seen:
                continue
            seen.add(day)
            weekend = (day - 1) % 7 >= 5
            kind = "daytime" if weekend else "online" if online else "after_school"
            starts = self.starts(kind, minutes)
            start = starts[int(r() * len(starts))]
            out.append({"date": self.iso(day), "start": _HHMM[start], "end": _HHMM[start + minutes]})
        out.sort(key=lambda s: s["date"])
        return out

    def course_teachers(self, teachers: list[Doc]) -> list[str]:
        n = len(teachers)
        i = int(self.r() * n)
        codes = [f"T{i + 1}"]
        if n > 1 and self.r() < 0.25:
            codes.append(f"T{(i + 1) % n + 1}")
        return codes

    def subject_course(self, no: int, stages: list[str], modes: list[str], teachers: list[Doc]) -> Doc:
        r = self.r
        school = [s for s in stages if s != "preschool"] or ["junior"]
        stage = self.pick(school)
        subject = self.weighted(_SUBJECT_PICK[stage])
        grades = _GRADES[stage]
        if subject == "physics" and stage == "junior":
            grades = grades[1:]
        elif subject == "chemistry" and stage == "junior":
            grades = grades[2:]
        subject_name = _SUBJECT_NAMES[subject]
        if subject == "foreign_language" and stage == "senior" and r() < 0.1:
            subject_name = "日语"
        if subject == "math" and stage == "primary" and r() < 0.2:
            suffix = "思维训练"
        else:
            suffix = self.pick(_SUBJECT_SUFFIXES)
        grade = self.pick(grades)
        if stage == "primary" and r() < 0.3:
            grade = "小学" + grade
        title = grade + subject_name + suffix
        online = modes == ["online"] or ("online" in modes and r() < 0.3)
        if online:
            minutes = 30
            class_size = self.pick(_SUBJECT_CLASS_ONLINE)
            cap = _ONLINE_BASE * minutes * 110 // (30 * 100)
        else:
            minutes = 45 if r() < 0.85 else 90
            class_size = self.pick(_SUBJECT_CLASS_OFFLINE)
            cap = _offline_base(class_size) * minutes * 110 // (45 * 100)
        price = int(cap * (0.6 + 0.4 * r())) // 100 * 100
        t0, t1 = self.term(True)
        n_slots = 1 if r() < 0.55 else 2
        return {
            "code": f"C{no}",
            "title": title,
            "category": "subject",
            "subject": subject,
            "stages": [stage],
            "mode": "online" if online else "offline",
            "class_size_max": class_size,
            "lesson_minutes": minutes,
            "price_per_lesson_fen": price,
            "teacher_codes": self.course_teachers(teachers),
            "term": {"start": self.iso(t0), "end": self.iso(t1)},
            "weekly_slots": self.slots(n_slots, 0.0, minutes, online),
            "sessions": self.sessions(t0, t1, True, minutes, online),
            "prepaid_packages": [],
        }

    def non_subject_course(
        self, no: int, discipline: str, stages: list[str], modes: list[str], teachers: list[Doc]
    ) -> Doc:
        r = self.r
        spec = _NON_SUBJECT[discipline]
        # One stage or two neighbouring ones from the scope.
        i = int(r() * len(stages))
        course_stages = stages[i : i + 2] if r() < 0.4 else [stages[i]]
        stem = self.pick(spec["stems"])
        suffix = self.pick(spec["suffixes"])
        if "preschool" in course_stages:
            head = "幼儿" if r() < 0.3 else "少儿"
        elif course_stages == ["primary"]:
            head = "少儿"
        else:
            head = "青少年"
        title = (head if r() < 0.6 else "") + stem + suffix
        online = "preschool" not in course_stages and (
            modes == ["online"] or ("online" in modes and r() < 0.3)
        )
        if online:
            minutes = 30 if _COMPULSORY & set(course_stages) else self.pick((30, 45))
            class_size = self.pick((1, 6, 10, 20))
        else:
            minutes = self.pick(spec["minutes"])
            class_size = self.pick(spec["class"])
        lo, hi = spec["price"]
        if class_size == 1:
            lo, hi = hi // 2, hi + hi // 3
        price = self.between(lo // 500, hi // 500) * 500
        if online:
            price = price // 2 // 100 * 100
        t0, t1 = self.term(False)
        n_slots = 1 if r() < 0.6 else 2
        return {
            "code": f"C{no}",
            "title": title,
            "category": "non_subject",
            "subject": discipline,
            "stages": list(course_stages),
            "mode": "online" if online else "offline",
            "class_size_max": class_size,
            "lesson_minutes": minutes,
            "price_per_lesson_fen": price,
            "teacher_codes": self.course_teachers(teachers),
            "term": {"start": self.iso(t0), "end": self.iso(t1)},
            "weekly_slots": self.slots(n_slots, 0.0 if online else 0.55, minutes, online),
            "sessions": self.sessions(t0, t1, False, minutes, online),
            "prepaid_packages": [],
        }

    # ---- prepaid packages ------------------------------------------------------------------------------

    def package(self, no: int, course: Doc) -> Doc:
        r = self.r
        per_week = max(1, len(course["weekly_slots"]))
        ppl = max(course["price_per_lesson_fen"], 100)
        lessons = self.pick((8, 10, 12, 16, 20, 24, 30, 32, 40, 48, 60))
        discount = 85 + int(r() * 16)  # percent
        # At most three months of lessons, and at most as many as 5,000 yuan buys at the package rate.
        lessons = max(1, min(lessons, per_week * 12, (500_001 * 100 - 1) // (ppl * discount)))
        price = lessons * ppl * discount // 100 // 100 * 100
        months = min(3, max(1, -(-lessons // (per_week * 4))))
        return {"code": f"K{no}", "lessons": lessons, "months": months, "price_fen": price}

    def oversize_package(self, no: int, course: Doc) -> Doc:
        ppl = max(course["price_per_lesson_fen"], 3000)
        x = self.r()
        if x < 0.4:  # the "annual card"
            lessons, months = self.pick((48, 72, 96)), 12
        elif x < 0.7:  # a term paid in advance
            lessons, months = self.pick((40, 48, 60)), self.pick((4, 5, 6))
        else:  # too many lessons in one go
            lessons, months = self.pick((72, 80, 100, 120)), 3
        price = lessons * ppl * 85 // 100 // 100 * 100
        return {"code": f"K{no}", "lessons": lessons, "months": months, "price_fen": price}

    # ---- course-level problems -------------------------------------------------------------------------

    def make_late(self, courses: list[Doc]) -> None:
        """TIME-OFFLINE-LATE: an evening lesson of a school-age offline course ending at 21:00."""
        for course in courses:
            if course["mode"] == "offline" and set(course["stages"]) - {"preschool"}:
                slot = course["weekly_slots"][0]
                end = 21 * 60
                slot["start"], slot["end"] = _HHMM[end - course["lesson_minutes"]], _HHMM[end]
                return

    def make_restday(self, course: Doc) -> None:
        """TIME-SUBJECT-RESTDAY: a subject class on Saturday (now and then Sunday) morning."""
        slots = course["weekly_slots"]
        day = 6 if self.r() < 0.8 else 7
        minutes = course["lesson_minutes"]
        start = self.pick(self.starts("daytime", minutes))
        slot = {"weekday": day, "start": _HHMM[start], "end": _HHMM[start + minutes]}
        slots[-1] = slot
        slots.sort(key=lambda s: s["weekday"])

    def make_overpriced(self, courses: list[Doc]) -> None:
        """FEE-PRICE-CAP: a compulsory-stage subject course charging above the guided price."""
        for course in courses:
            if _COMPULSORY & set(course["stages"]):
                minutes = course["lesson_minutes"]
                if course["mode"] == "online":
                    cap = _ONLINE_BASE * minutes * 110 // (30 * 100)
                else:
                    cap = _offline_base(course["class_size_max"]) * minutes * 110 // (45 * 100)
                course["price_per_lesson_fen"] = (cap // 100 + 1 + int(self.r() * 40)) * 100
                return

    def make_online(self, courses: list[Doc], minutes: int, modes: list[str]) -> Doc | None:
        """Turn a compulsory-stage course into an online one with ``minutes`` lessons (TIME-ONLINE-LESSON
        when over 30). The licence scope gains ``online`` when ``modes`` is the scope's list."""
        for course in courses:
            stages = course["stages"]
            if "preschool" in stages or not (_COMPULSORY & set(stages)):
                continue
            class_size = self.pick(_SUBJECT_CLASS_ONLINE)
            course["mode"] = "online"
            course["class_size_max"] = class_size
            course["lesson_minutes"] = minutes
            if course["category"] == "subject":
                cap = _ONLINE_BASE * minutes * 110 // (30 * 100)
                course["price_per_lesson_fen"] = int(cap * (0.6 + 0.4 * self.r())) // 100 * 100
            else:
                course["price_per_lesson_fen"] = self.between(6, 30) * 500
            n = len(course["weekly_slots"])
            course["weekly_slots"] = self.slots(n, 0.0, minutes, True)
            subject = course["category"] == "subject"
            t0 = date.fromisoformat(course["term"]["start"]).toordinal()
            t1 = date.fromisoformat(course["term"]["end"]).toordinal()
            course["sessions"] = self.sessions(t0, t1, subject, minutes, True)
            if "online" not in modes:
                modes.append("online")
            return course
        return None

    def make_out_of_scope(self, courses: list[Doc], scope: Doc) -> None:
        """LIC-SCOPE: a course for a stage the licence does not name or, failing that, online though the
        licence is for offline training only."""
        course = self.pick(courses)
        missing = [s for s in _SCHOOL_STAGES if s not in scope["stages"]]
        if missing:
            stage = self.pick(missing)
            if course["category"] == "subject":
                subject = self.weighted(_SUBJECT_PICK[stage])
                course["subject"] = subject
                grade = self.pick(_GRADES[stage][2:] if subject == "chemistry" else _GRADES[stage])
                course["title"] = grade + _SUBJECT_NAMES[subject] + self.pick(_SUBJECT_SUFFIXES)
                course["stages"] = [stage]
            else:
                course["stages"] = sorted({*course["stages"], stage}, key=_STAGE_ORDER.__getitem__)
            return
        if "online" in scope["modes"]:
            return
        saved = list(scope["modes"])
        if self.make_online(courses, 30, saved) is None:
            # No school-age course to move online: teach the first course to seniors instead.
            course["stages"] = sorted({*course["stages"], "senior"}, key=_STAGE_ORDER.__getitem__)


def generate(count: int, seed: int = DEFAULT_SEED, as_of: date = DEFAULT_AS_OF) -> Iterator[Doc]:
    """``count`` institution documents (plain, JSON-able dicts), one at a time. The same ``seed`` and
    ``as_of`` give the same documents; ``as_of`` is the business date the data is realistic for (licences
    valid on it, course terms in the semester around it)."""
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    if count > MAX_COUNT:
        raise ValueError(f"at most {MAX_COUNT} institutions can be generated, got {count}")
    builder = _Builder(seed, as_of)
    return (builder.institution(i) for i in range(count))


def write_jsonl(path: str | Path, count: int, seed: int = DEFAULT_SEED, as_of: date = DEFAULT_AS_OF) -> int:
    """Write ``count`` documents to ``path`` as JSON Lines: UTF-8, one compact document a line, Chinese
    written as is. Returns the number of documents written."""
    written = 0
    with open(path, "wb") as out:
        for doc in generate(count, seed, as_of):
            out.write(orjson.dumps(doc))
            out.write(b"\n")
            written += 1
    return written
