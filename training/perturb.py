"""Text perturbations shared by training-time augmentation and evaluation-time robustness tests.

Each perturbation imitates a way real collection calls and messages differ from clean text:
the other Chinese script, ASR transcripts (no punctuation, fillers, stutters, homophone errors) and
chat users who disguise profanity. All of them are meaning-preserving, so **labels never change**:
a threat transcribed with 鱼期 instead of 逾期 is still a threat, 煞笔 is still an insult, and a
compliant utterance stays compliant (words that carry a label's meaning are never split or dropped).

Every function takes ``(text, rng)`` and is deterministic given the ``random.Random`` instance.
Nothing is loaded at import time; OpenCC converters are created on first use.
"""
from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

# --- script_swap -------------------------------------------------------------------------------


@lru_cache(maxsize=2)
def _opencc(config: str):
    import opencc  # imported on first use: loading its dictionaries takes a moment

    return opencc.OpenCC(config)


def is_traditional(text: str) -> bool:
    """True when OpenCC's ``t2s`` changes the text, i.e. it has traditional-only characters."""
    return _opencc("t2s").convert(text) != text


def script_swap(text: str, rng: random.Random) -> str:
    """Traditional text to simplified, anything else to traditional (OpenCC ``t2s`` / ``s2t``)."""
    return _opencc("t2s" if is_traditional(text) else "s2t").convert(text)


# --- no_punctuation ----------------------------------------------------------------------------

_MASK_CHARS = frozenset("*＊")  # masked digits in 138****6721 are not punctuation
_SPACES = re.compile(r"\s+")


def _is_punctuation(char: str) -> bool:
    return char not in _MASK_CHARS and (unicodedata.category(char).startswith("P")
                                        or char in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def no_punctuation(text: str, rng: random.Random) -> str:
    """Remove Chinese and ASCII punctuation like an ASR transcript: a mark becomes a pause (a space),
    except inside a number, where ``.`` stays (3.5万) and other marks vanish (3,000 -> 3000)."""
    out = []
    for i, char in enumerate(text):
        if not _is_punctuation(char):
            out.append(char)
        elif 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit():
            out.append(char if char == "." else "")
        else:
            out.append(" ")
    return _SPACES.sub(" ", "".join(out)).strip()


# --- homophones --------------------------------------------------------------------------------

# Realistic ASR substitutions: the same syllable (tone may differ) written with another character.
# One dictionary per script, so a traditional transcript gets traditional errors.
HOMOPHONES: dict[str, str] = {
    "征信": "征性", "逾期": "鱼期", "律师": "律丝", "立案": "例案", "通讯录": "通迅录", "法院": "发院",
    "还款": "环款", "还钱": "环钱", "起诉": "起速", "坐牢": "做牢", "公安": "公按", "曝光": "爆光",
    "欠款": "欠宽", "利息": "力息", "催收": "催手", "传票": "传飘", "拘留": "拘流", "判刑": "判型",
    "诈骗": "炸骗", "警察": "井察", "银行": "银航", "执行": "直行", "失信": "失性", "黑名单": "黑明单",
    "违约": "为约", "滞纳金": "制纳金", "协商": "鞋商", "联系人": "连系人", "上门": "尚门",
    "身份证": "身分证", "短信": "短新", "单位": "单为", "同事": "同是", "刑事": "行事", "本金": "本今",
}
TRADITIONAL_HOMOPHONES: dict[str, str] = {
    "徵信": "徵性", "逾期": "魚期", "律師": "律絲", "立案": "例案", "通訊錄": "通迅錄", "法院": "發院",
    "還款": "環款", "還錢": "環錢", "起訴": "起速", "坐牢": "做牢", "公安": "公按", "曝光": "爆光",
    "欠款": "欠寬", "利息": "力息", "催收": "催手", "傳票": "傳飄", "詐騙": "炸騙", "警察": "井察",
    "銀行": "銀航", "執行": "直行", "違約": "為約", "協商": "鞋商", "聯絡人": "連絡人", "單位": "單為",
}


def _alternation(words: Iterable[str]) -> re.Pattern:
    """A regex matching any of ``words``, longest first."""
    return re.compile("|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True)))


@lru_cache(maxsize=2)
def _homophone_re(traditional: bool) -> re.Pattern:
    return _alternation(TRADITIONAL_HOMOPHONES if traditional else HOMOPHONES)


def homophones(text: str, rng: random.Random, probability: float = 0.7) -> str:
    """Replace each dictionary word by its ASR homophone with ``probability`` (0.7), using the
    dictionary of the text's script."""
    traditional = is_traditional(text)
    table = TRADITIONAL_HOMOPHONES if traditional else HOMOPHONES
    return _homophone_re(traditional).sub(
        lambda m: table[m.group()] if rng.random() < probability else m.group(), text)


# --- disguised_profanity -----------------------------------------------------------------------

# Profanity and insults with the forms chat users write to get past filters.
PROFANITY: dict[str, tuple[str, ...]] = {
    # simplified (many also occur unchanged in traditional text)
    "傻逼": ("sb", "傻b", "煞笔", "沙比"), "傻B": ("sb", "煞笔"), "他妈的": ("tmd", "特么的"),
    "他妈": ("tm", "特么"), "你妈死了": ("nmsl",), "操你妈": ("cnm", "草泥马"), "草你妈": ("cnm", "草泥马"),
    "你妈的": ("nmd", "你md"), "妈的": ("md", "马的"), "我操": ("wc", "卧槽"), "废物": ("fw",),
    "垃圾": ("lj", "辣鸡"), "狗东西": ("gdx",), "滚": ("gun",), "去死": ("qs",), "脑残": ("nc",),
    "智障": ("zz",), "王八蛋": ("wbd",), "贱人": ("jr",), "不要脸": ("byl", "不要lian"),
    "白痴": ("bc", "白吃"), "神经病": ("sjb",), "人渣": ("rz",), "畜生": ("cs", "畜牲"),
    # traditional
    "幹你娘": ("gnn", "幹林娘", "淦你娘"), "白癡": ("白吃", "bc"), "他媽的": ("tmd", "特麼的"),
    "他媽": ("tm", "特麼"), "你媽的": ("nmd",), "媽的": ("md",), "操你媽": ("cnm", "草泥馬"), "滾": ("gun",),
    "廢物": ("fw",), "狗東西": ("gdx",), "腦殘": ("nc",), "賤人": ("jr",), "不要臉": ("byl",),
    "神經病": ("sjb",), "靠北": ("kb",),
}
# Words that contain a dictionary entry but are not insults (interest that 滚 "rolls over").
NOT_PROFANITY = ("利滚利", "利滾利", "滚到", "滾到", "滚得", "滾得", "滚动", "滾動", "滚成", "滾成", "滚雪球")


@lru_cache(maxsize=1)
def _profanity_re() -> re.Pattern:
    return _alternation([*PROFANITY, *NOT_PROFANITY])


def disguised_profanity(text: str, rng: random.Random) -> str:
    """Replace every profanity or insult by one of its disguised chat forms (傻逼 -> sb/煞笔/...,
    in the text's script); a text without any comes back unchanged."""
    if not _profanity_re().search(text):
        return text
    convert = _opencc("s2t").convert if is_traditional(text) else str

    def disguise(match: re.Match) -> str:
        word = match.group()
        return convert(rng.choice(PROFANITY[word])) if word in PROFANITY else word

    return _profanity_re().sub(disguise, text)


# --- asr_fillers -------------------------------------------------------------------------------

FILLERS = ("嗯", "啊", "呃", "那个", "就是说", "对吧", "然后")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@lru_cache(maxsize=1)
def _protected_re() -> re.Pattern:
    """Words that carry a label's meaning: never split by a filler."""
    return _alternation([*HOMOPHONES, *HOMOPHONES.values(), *TRADITIONAL_HOMOPHONES,
                         *TRADITIONAL_HOMOPHONES.values(), *PROFANITY, *NOT_PROFANITY])


def _boundaries(text: str) -> list[int]:
    """Positions where a filler may go: not inside an ASCII word or number, nor a protected word."""
    inside = set()
    for match in _protected_re().finditer(text):
        inside.update(range(match.start() + 1, match.end()))
    return [i for i in range(len(text) + 1)
            if i not in inside and not (0 < i < len(text) and text[i - 1].isascii() and text[i - 1].isalnum()
                                        and text[i].isascii() and text[i].isalnum())]


def asr_fillers(text: str, rng: random.Random) -> str:
    """An ASR-style transcript: no punctuation, 1-3 fillers (嗯, 那个, ...; in the text's script) at
    pauses or character boundaries and, half the time, a stutter that repeats the first one or two
    characters of a phrase (你你你)."""
    convert = _opencc("s2t").convert if is_traditional(text) else str
    text = no_punctuation(text, rng)
    if rng.random() < 0.5:
        starts = [i for i in range(len(text)) if (i == 0 or text[i - 1] == " ") and _CJK.match(text[i])]
        if starts:
            i = rng.choice(starts)
            run = text[i:i + rng.choice((1, 1, 2))]
            run = run if all(_CJK.match(c) for c in run) else run[0]
            text = text[:i] + run * rng.choice((1, 2)) + text[i:]
    for _ in range(rng.randint(1, 3)):
        allowed = _boundaries(text)
        pauses = [i for i in allowed if i in (0, len(text)) or text[i - 1] == " " or text[i] == " "]
        i = rng.choice(pauses if pauses and rng.random() < 0.5 else allowed)
        text = f"{text[:i]} {convert(rng.choice(FILLERS))} {text[i:]}"
    return _SPACES.sub(" ", text).strip()


# --- registry ----------------------------------------------------------------------------------

Perturbation = Callable[[str, random.Random], str]

PERTURBATIONS: dict[str, Perturbation] = {
    "script_swap": script_swap,
    "no_punctuation": no_punctuation,
    "asr_fillers": asr_fillers,
    "homophones": homophones,
    "disguised_profanity": disguised_profanity,
}
# The ones used for training-time augmentation (no_punctuation is contained in asr_fillers).
AUGMENTATIONS: tuple[str, ...] = ("script_swap", "asr_fillers", "homophones", "disguised_profanity")


def perturb(texts: Sequence[str], name: str, seed: int) -> list[str]:
    """``texts`` through the perturbation ``name``, each text with its own generator seeded by
    ``seed`` and its position, so the result is reproducible."""
    if name not in PERTURBATIONS:
        raise KeyError(f"unknown perturbation {name!r}; known: {', '.join(PERTURBATIONS)}")
    return [PERTURBATIONS[name](text, random.Random(f"{seed}:{i}")) for i, text in enumerate(texts)]


def augmented_copy(row: dict, seed: int) -> dict:
    """A copy of a labelled row (a dict with ``id``, ``text``, ``script``...) changed by a perturbation drawn
    at random from ``AUGMENTATIONS``; it keeps the labels and every other field and gets the id
    ``<id>~aug-<name>``. The text may come back unchanged (nothing for the perturbation to change)."""
    rng = random.Random(f"{seed}:{row['id']}")  # per row: one row's copy does not depend on the others
    name = rng.choice(AUGMENTATIONS)
    text = PERTURBATIONS[name](row["text"], rng)
    script = row["script"]
    if name == "script_swap":
        script = "traditional" if is_traditional(text) else "simplified"
    return {**row, "id": f"{row['id']}~aug-{name}", "text": text, "script": script}


def augment_dataset(dataset, seed: int):
    """The (train) rows of a ``datasets.Dataset`` followed by one :func:`augmented_copy` of each row; a
    copy identical to its original is left out. Never use it on dev or test rows."""
    from datasets import concatenate_datasets

    copies = dataset.map(augmented_copy, fn_kwargs={"seed": seed}, desc="augmenting")
    changed = [i for i, (old, new) in enumerate(zip(dataset["text"], copies["text"], strict=True)) if old != new]
    return concatenate_datasets([dataset, copies.select(changed)])
