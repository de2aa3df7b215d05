"""Quantitative targets of an item's text (指标): 每年认定300个脱贫村, 每县至少建1所, 不低于80%, 增长1.3倍.

A target is a number with its unit (a measure word, %, 倍, 个百分点; 万 and 亿 stay in the unit)
that the sentence commits to: a direction word stands with it (不低于 / 至少 / 以上 → at least,
不超过 / 控制在 / 以内 → at most, 达到 / 提高到 → reach, 增长 / 提高 → increase by; 下降 / 减少 →
increase by a negative value), or a scope (每年, 每个县, 累计, 全省), or a verb of doing right
before it (建成, 培养, 选择, 认定…). Figures in quotes or titles (“四个不摘”, 《…》), ordinals (第3),
summaries (等五项) and durations without a direction (为期2年, 设立5年过渡期) are no targets. The
deadline a target belongs to is the date of its own sentence (the nearest before it, else after),
else the item's one date.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from policies.deadlines import find_deadlines
from policies.model import Deadline, Span, Target
from policies.numerals import chinese_to_int

Direction = Literal["at_least", "at_most", "reach", "increase_by"]

_SENTENCE_RE = re.compile(r"[^。；;！!？?\n]+")
_CLAUSE_END = "，,；;：:"
_CN = "零〇一二两三四五六七八九十百千"
_TIME_UNITS = ("年", "个月", "月", "日", "天", "小时", "个工作日", "工作日")
_UNITS = (
    "个百分点|百分点|%|％|倍|个工作日|工作日|个月|小时|平方公里|平方米|立方米|公顷|公里|千米|千瓦时|"
    "千瓦|兆瓦|吨|亩|米|元|人次|户|人|名|个|所|家|项|座|条|处|间|张|台|套|辆|次|场|期|件|块|棵|株|"
    "头|只|册|栋|年|月|日|天"
)
_TARGET_RE = re.compile(
    rf"(?P<num>\d+(?:\.\d+)?|[{_CN}]+)\s*(?P<mult>万|亿|千)?(?:余|多)?\s*(?P<unit>{_UNITS})"
)
# A unit as a target states it (万 / 亿 / 千 before a measure word): what a clerk may type.
UNIT_RE = re.compile(rf"(?:万|亿|千)?(?:{_UNITS})")
DIRECTIONS: tuple[Direction, ...] = ("at_least", "at_most", "reach", "increase_by")
_AFTER_RE = re.compile(r"(?:及|或)?(以上|以下|以内|之内|左右)")
_AFTER: dict[str, Direction] = {
    "以上": "at_least",
    "以下": "at_most",
    "以内": "at_most",
    "之内": "at_most",
}
_WORDS: dict[Direction, tuple[str, ...]] = {
    "at_least": ("不低于", "不少于", "不小于", "至少", "超过", "高于", "多于", "突破"),
    "at_most": (
        "不超过", "不高于", "不多于", "低于", "少于", "控制在", "压缩至", "压缩到", "压减至",
        "压减到", "缩短至", "缩短到", "降至", "降低到", "降低至", "下降到", "下降至", "减少到",
        "减少至",
    ),
    "reach": (
        "达到", "提高到", "提高至", "提升到", "提升至", "增加到", "增加至", "增长到", "增长至",
        "增至", "扩大到", "扩大至",
    ),
    "increase_by": ("增长", "增加", "提高", "提升", "增幅", "下降", "减少", "降低", "压减"),
}  # fmt: skip
_DIRECTIONS = {word: direction for direction, words in _WORDS.items() for word in words}
_FALLING = ("下降", "减少", "降低", "压减")  # increase by a negative value
# Longest words first: 提高到 reaches, 提高 increases by.
_BEFORE_RE = re.compile("|".join(sorted(_DIRECTIONS, key=len, reverse=True)))
# 实现…全覆盖: every one of them, a target of 100%.
_FULL_RE = re.compile(r"全覆盖")
_SCOPE_RE = re.compile(
    r"每(?:年|季度|季|半年|月|周|天|日)|每(?:个|所|家)?(?:省|市|州|县|区|乡镇|乡|镇|街道|村|社区"
    r"|户|万人|千人|百人|人|企业|学校|园区)|累计|年均|全年|全省|全市|全州|全县|全区|全国"
)
_VERB_RE = re.compile(
    r"(?:建设|建成|建有|新建|改建|改造|创建|打造|培育|培养|培训|选择|选派|选树|确定|认定|评定|"
    r"扶持|支持|帮扶|资助|吸纳|转移|安置|招聘|招录|新增|发放|开展|举办|组织|完成|实施|建立|设立|"
    r"覆盖|惠及|带动|救助|种植|造林|治理|修复|整治)"
)
_WORD_REACH = 16  # 不低于当地上年度低保标准的1.3倍; farther, the word is another phrase's
_VERB_REACH = 12  # a verb binds a number up to its object away: 新建农村公路1000公里
_PAIRED_RE = re.compile(r"\s*(?:和|及|与|、|或)\s*")
_BENEFIT_RE = re.compile("最高|最多|可申请|可享受|可获得")
_QUOTES = {"“": "”", "《": "》", "「": "」", '"': '"', "‘": "’"}


@dataclass(frozen=True)
class FoundTarget:
    """A target in an item's text: its span there and what it says."""

    start: int
    end: int
    value: float
    unit: str
    direction: Direction
    scope: str | None
    deadline: date | None


def find_targets(
    text: str, *, year: int | None, transition: int | None = None, fallback: date | None = None
) -> list[FoundTarget]:
    """Return the targets of an item's text (Simplified), in order.

    Args:
        text: the item's text.
        year: the issue year, for deadline phrases without a year.
        transition: the document's transition period in years, if it sets one.
        fallback: the item's deadline, for a target whose sentence gives none.
    """
    out: list[FoundTarget] = []
    carried: date | None = None  # 到2020年，… opens a paragraph's sentences on that date
    for sentence in _SENTENCE_RE.finditer(text):
        if sentence.start() == 0 or text[sentence.start() - 1] == "\n":
            carried = None
        dates = _dated(text, sentence.span(), year, transition)
        if dates and dates[0][0] <= _skip_blanks(text, sentence.start()):
            carried = dates[0][2]
        out += _sentence_targets(text, sentence.span(), dates, carried or fallback)
    return out


def _skip_blanks(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def item_targets(
    text: str,
    original: str,
    span_of: Callable[[int, int], Span | None],
    *,
    year: int | None,
    transition: int | None,
    deadlines: tuple[Deadline, ...] | list[Deadline],
) -> tuple[Target, ...]:
    """Return the targets of an item: `text` in Simplified, `original` as written (aligned).

    `span_of` maps a span of the text to the source; the item's deadline is the fallback of a
    target whose sentence gives none, when the item has one date.
    """
    dates = {d.date for d in deadlines}
    fallback = next(iter(dates)) if len(dates) == 1 else None
    return tuple(
        Target(
            text=original[t.start : t.end],
            value=t.value,
            unit=t.unit,
            direction=t.direction,
            scope=t.scope,
            deadline=t.deadline,
            span=span_of(t.start, t.end),
        )
        for t in find_targets(text, year=year, transition=transition, fallback=fallback)
    )


def _quoted(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Return the spans of quotes and titles in `text[start:end]` (a quote left open runs on)."""
    out: list[tuple[int, int]] = []
    closer, opened = "", 0
    for i in range(start, end):
        char = text[i]
        if closer and char == closer:
            out.append((opened, i + 1))
            closer = ""
        elif not closer and char in _QUOTES:
            closer, opened = _QUOTES[char], i
    if closer:
        out.append((opened, end))
    return out


@dataclass
class _Sentence:
    """What one sentence gives every number in it: quotes, scopes, dated phrases."""

    start: int
    quoted: list[tuple[int, int]]
    scopes: list[re.Match[str]]
    dates: list[tuple[int, date]]
    clause_ends: list[int]

    def __post_init__(self) -> None:
        self.quote_starts = [start for start, _ in self.quoted]
        self.scope_ends = [m.end() for m in self.scopes]
        self.date_ends = [end for end, _ in self.dates]

    def inside_quotes(self, position: int) -> bool:
        """Return whether `position` stands in a quote or a title."""
        i = bisect_right(self.quote_starts, position) - 1
        return i >= 0 and self.quoted[i][1] > position

    def scope(self, position: int, clause: int) -> str | None:
        """Return the scope words nearest before `position` (全省每年: at most two), those of
        its own clause (from `clause` on) when it has any."""
        i = bisect_right(self.scope_ends, position)
        near = self.scopes[max(i - 2, 0) : i]
        own = [m for m in near if m.start() >= clause]
        return "".join(m.group(0) for m in own or near) or None

    def condition(self, position: int, text: str) -> bool:
        """Return whether `position` stands in a condition (……达到25%的，可申请……)."""
        end = self.clause_ends[
            min(bisect_right(self.clause_ends, position), len(self.clause_ends) - 1)
        ]
        return text[end - 1] == "的"

    def deadline(self, position: int) -> date | None:
        """Return the date of the phrase nearest before `position`, else the first after it."""
        i = bisect_right(self.date_ends, position)
        if i > 0:
            return self.dates[i - 1][1]
        return self.dates[0][1] if self.dates else None


def _sentence_targets(
    text: str, span: tuple[int, int], dates: list[tuple[int, int, date]], fallback: date | None
) -> list[FoundTarget]:
    start, end = span
    sentence = _Sentence(
        start,
        _quoted(text, start, end),
        list(_SCOPE_RE.finditer(text, start, end)),
        [(stop, when) for _, stop, when in dates],
        [i for i in range(start, end) if text[i] in _CLAUSE_END] + [end],
    )
    out: list[FoundTarget] = []
    previous, last = start, None
    for m in _TARGET_RE.finditer(text, start, end):
        read = None if sentence.inside_quotes(m.start()) else _target(text, m, previous, sentence)
        if read is None and last is not None and _PAIRED_RE.fullmatch(text, previous, m.start()):
            read = _paired(m, last)  # 分别达到65%和55%: the second figure of a pair
        previous = m.end()
        last = read
        if read is not None:
            out.append(replace(read, deadline=sentence.deadline(m.start()) or fallback))
    for m in _FULL_RE.finditer(text, start, end):
        if not sentence.inside_quotes(m.start()):
            deadline = sentence.deadline(m.start()) or fallback
            scope = sentence.scope(m.start(), _clause_start(text, start, m.start()))
            out.append(FoundTarget(m.start(), m.end(), 100.0, "%", "reach", scope, deadline))
    return sorted(out, key=lambda t: t.start)


def _paired(m: re.Match[str], last: FoundTarget) -> FoundTarget | None:
    """Return a figure joined by 和 / 、 to the target before it, read like that one."""
    unit = (m.group("mult") or "") + m.group("unit")
    value = _value(m.group("num"))
    if value is None or unit != last.unit:
        return None
    value = -value if last.value < 0 else value
    return FoundTarget(m.start(), m.end(), value, unit, last.direction, last.scope, None)


def _target(text: str, m: re.Match[str], previous: int, sentence: _Sentence) -> FoundTarget | None:
    """Read one number with its unit; None when it is no target."""
    num, unit = m.group("num"), (m.group("mult") or "") + m.group("unit")
    before = text[m.start() - 1] if m.start() > 0 else ""
    value = _value(num)
    if value is None or before in "第等" or before.isdigit() or text.startswith("一", m.end()):
        return None  # an ordinal, a summary (等五项), a slogan (一户一策)
    clause = _clause_start(text, previous, m.start())
    words = list(_BEFORE_RE.finditer(text, max(clause, m.start() - _WORD_REACH), m.start()))
    word = words[-1] if words else None
    after = _AFTER_RE.match(text, m.end())
    direction = _direction(word.group(0) if word else None, after.group(1) if after else None)
    scope = sentence.scope(m.start(), _clause_start(text, sentence.start, m.start()))
    verb = _VERB_RE.search(text, max(clause, m.start() - _VERB_REACH), m.start())
    if m.group("unit") in _TIME_UNITS and (
        word is None or _DIRECTIONS[word.group(0)] == "increase_by"
    ):
        return None  # a duration or a date (为期2年, 两年之内), unless 压缩至 / 不超过 binds it
    if sentence.condition(m.start(), text) or _BENEFIT_RE.search(text, clause, m.start()):
        return None  # a condition (……达到25%的，) or a benefit's cap (最高不超过15万元)
    # Without a direction, a scope or a verb binds the number; a lone 1 needs both (每县建设一所).
    if direction is None and not ((scope and verb) if value == 1 else (scope or verb)):
        return None
    if word is not None and word.group(0) in _FALLING and direction == "increase_by":
        value = -value
    begin = (word or verb or m).start()  # 至少建有1所, 新建农村公路1000公里, 300名
    stop = after.end() if after else m.end()
    return FoundTarget(begin, stop, value, unit, direction or "reach", scope, None)


def _clause_start(text: str, start: int, position: int) -> int:
    """Return where the clause holding `position` starts, not before `start`."""
    return max([start, *(text.rfind(c, start, position) + 1 for c in _CLAUSE_END)])


def _direction(word: str | None, after: str | None) -> Direction | None:
    """Return the direction of the words before and after a number (以上 / 以内 decide)."""
    if after in _AFTER:
        return _AFTER[after]
    if word is not None:
        return _DIRECTIONS[word]
    return "reach" if after == "左右" else None


def _value(num: str) -> float | None:
    try:
        return float(num) if num[0].isdigit() else float(chinese_to_int(num))
    except ValueError:
        return None


def _dated(
    text: str, span: tuple[int, int], year: int | None, transition: int | None
) -> list[tuple[int, int, date]]:
    """Return where each deadline phrase of the sentence starts and ends, and its date."""
    sentence = text[span[0] : span[1]]
    out, at = [], 0
    for deadline in find_deadlines(sentence, year=year, transition=transition):
        found = sentence.find(deadline.text, at)
        if found >= 0:
            at = found + len(deadline.text)
            out.append((span[0] + found, span[0] + at, deadline.date))
    return out
