"""Masking of personal data (PII) in Chinese collection text: :func:`mask_pii`.

One masking policy for everything that quotes text outside the scorer (call-summary evidence,
evaluation error lists, prevalence group names, log and error messages) and for model inputs
(normalisation version 2, see ``normalize.py``). It covers what people type and what speech
recognition (ASR) writes: digits spoken as Chinese characters (一三九; 幺 = 1, 两 = 2, 洞 = 0), mixed
with Arabic digits, split into groups by spaces, dashes or fillers (嗯, 呃, 就是), and the Taiwan and
Hong Kong formats. Each piece of personal data becomes a typed placeholder (``PLACEHOLDERS``).

The detectors are rules, each with the context it needs to be reliable:

- numbers (phone, ID, card, account): a run of digit groups is classified by its digit count and
  shape (11-digit mobile, 18/15-digit ID with a birth date inside, 16-19-digit card, 9-12 digits from
  0 for landlines and Taiwan, 8 digits for Hong Kong only when grouped 4+4 or after a phone word,
  any other run of 9+ digits as an account); a label just before it (QQ, 支付宝, 账号, 身份证 ...)
  decides the type where the shape alone cannot;
- letters + digits: loan contract and user ids (HT2024..., 7+ digits), Taiwan ID (A123456789), Hong
  Kong ID (A123456(7)); e-mail, also spoken (艾特, at, 点); WeChat/LINE ids after their label;
- licence plates: mainland anywhere, Taiwan and Hong Kong after 车/車;
- addresses: a chain of numbered units (栋, 单元, 室, 号, 弄, 组 ...) after a road, village or named
  estate, extended left over the district and city names up to the word that introduces it;
- names: a known surname with an honorific (王女士, 陈生), after a relation or a role (我哥王强,
  户名: 尹立新), before a relation (白伟的妻子), or masked (李**). Bare names are not searched for.

Already-masked numbers (138****6721, 6222 **** **** 8842) are masked like full ones: they still show
up to 7 digits, and every output should look the same whatever the source did. Tails (尾号8842),
hotlines (95xxx, 12378), amounts, dates, times, rates and counts are left alone.
"""
from __future__ import annotations

import re

MASKING_VERSION = 2  # the rules below; normalisation version 2 masks model inputs with them
PHONE, ID_NUMBER, CARD, EMAIL = "[电话]", "[证件号]", "[卡号]", "[邮箱]"
ACCOUNT, PLATE, ADDRESS, NAME = "[账号]", "[车牌]", "[地址]", "[姓名]"
PLACEHOLDERS = {"phone": PHONE, "id_number": ID_NUMBER, "card": CARD, "email": EMAIL, "account_id": ACCOUNT,
                "plate": PLATE, "address": ADDRESS, "name": NAME}

# --- digits -----------------------------------------------------------------------------------

_CN_DIGITS = "零〇洞一幺二两兩三四五六七八九"
_TO_ASCII = str.maketrans({**{c: str(i) for i, c in enumerate("０１２３４５６７８９")},
                           "零": "0", "〇": "0", "洞": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "兩": "2",
                           "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9", "＊": "*"})
_D = f"0-9０-９{_CN_DIGITS}"  # one digit, as typed or spoken (a character class body)
_DM = _D + "*＊"  # a digit or a masked digit
_FILLER = r"(?:嗯|呃|额|啊|哦|就是|对|對|那个|那個)"
# digit groups joined by spaces, dashes, brackets, or fillers (a filler only before 2+ digits)
_GAP = rf"(?:[\s\-－—()（）]+|[\s\-]*(?:{_FILLER}\s*)+(?=[{_D}]{{2}}))"
_X = r"(?:[XxＸｘ叉]|艾克斯)"
_RUN = re.compile(rf"(?<![{_DM}A-Za-z_])(?:[(（][+＋]?|[+＋])?[{_DM}]+(?:{_GAP}[{_DM}]+)*{_X}?(?![{_DM}A-Za-z_@])")
_GROUP_4_4 = re.compile(rf"^[{_D}]{{4}}[\s\-]+[{_D}]{{4}}$")

# the label nearest before a number decides its type where the shape alone cannot
_ALIPAY = re.compile(r"支付宝|支付寶|Alipay|alipay")
_LABELS = re.compile(
    r"(?P<qq>QQ|qq)|(?P<account>微信|WeChat|wechat|账号|帐号|帳號|账户|帐户|帳戶|户口|戶口"
    r"|ID|编号|編號|合同|合約|会员|會員)|(?P<id>身份证|身份證|身分證|证件|證件|字号|字號)"
    r"|(?P<phone>电话|電話|手机|手機|号码|號碼|座机|座機|联系|聯繫|聯絡|联络|回电|回電|致电|致電|WhatsApp|打|覆|call)")
_LABEL_WINDOW, _ALIPAY_WINDOW = 12, 24


def _label_before(text: str, start: int) -> str | None:
    """The kind of the label nearest before ``start``; an Alipay label wins within a longer window
    (支付宝账号就是我手机号 13...: an account)."""
    if _ALIPAY.search(text, max(0, start - _ALIPAY_WINDOW), start):
        return "account"
    found = list(_LABELS.finditer(text, max(0, start - _LABEL_WINDOW), start))
    return found[-1].lastgroup if found else None


def _is_date(digits: str) -> bool:
    """``YYYYMMDD`` (or ``YYMMDD``) with a plausible month and day; masked digits match anything."""
    if len(digits) == 6:
        digits = "19" + digits
    year, month, day = digits[:4], digits[4:6], digits[6:8]

    def fits(value: str, low: int, high: int) -> bool:
        return "*" in value or low <= int(value) <= high

    return (year[:2] in ("19", "20") or "*" in year[:2]) and fits(month, 1, 12) and fits(day, 1, 31)


def _number_type(run: str, label: str | None) -> str | None:
    """The type of a run of digit groups, or None when it is not personal data."""
    digits = run.translate(_TO_ASCII)
    check_x = bool(re.search(f"{_X}$", run))
    digits = re.sub(r"[^0-9*]", "", digits)
    n = len(digits) + check_x
    if label == "qq" and n >= 5 or label == "account" and n >= 8:
        return "account_id"
    if re.match(r"861[3-9]", digits) and n == 13 or digits[:3] in ("852", "853") and n == 11 \
            or digits[:3] == "886" and n == 12:
        return "phone"
    if n == 11 and re.match(r"1[3-9*]", digits):
        return "phone"
    if n == 18 and _is_date(digits[6:14]) or n == 15 and _is_date(digits[6:12]) or check_x and n in (15, 18):
        return "id_number"
    if 16 <= n <= 19:
        return "id_number" if label == "id" else "card"
    if digits.startswith("0") and 9 <= n <= 12:
        return "phone"
    if n == 8 and not _is_date(digits) and digits[0] in "23456789*" and (
            label == "phone" or _GROUP_4_4.match(run)):
        return "phone"
    if n in (7, 8) and label == "phone":
        return "phone"
    if n >= 9:
        return "account_id"
    return None


_ATTACHED_WORD = re.compile(rf"^[{_CN_DIGITS}]+(?=[0-9０-９])|(?<=[0-9０-９])[{_CN_DIGITS}]+$")  # 手机15793639929一直


def _numbers(text: str):
    for match in _RUN.finditer(text):
        start, end = match.span()
        for attached in _ATTACHED_WORD.finditer(match.group()):
            if attached.start() == 0:
                start = match.start() + attached.end()
            else:
                end = match.start() + attached.start()
        kind = _number_type(text[start:end], _label_before(text, start))
        if kind:
            yield start, end, kind


# --- letters and digits: ids, e-mail, WeChat/LINE --------------------------------------------

_LETTERS = r"(?:[A-Za-z]{1,5}|[A-Z](?: [A-Z]){1,3})"
_ALNUM_ID = re.compile(rf"(?<![A-Za-z0-9_@.\-])(?P<letters>{_LETTERS})[\s\-]?(?P<digits>[{_D}]+(?:[\s\-][{_D}]+)*)"
                       rf"(?P<check>\s?[(（]\s?[0-9A]\s?[)）]|\sA(?![A-Za-z0-9]))?(?![A-Za-z0-9_@])")
_TAIWAN_ID = re.compile(r"[A-Z][12][0-9]{8}")
_EMAIL_ASCII = r"[A-Za-z0-9._%+\-]+[@＠][A-Za-z0-9.\-]+\.[A-Za-z]{2,}"
_SPOKEN_PIECE = rf"(?:[A-Za-z0-9_.\-]|[{_CN_DIGITS}]|下划线|下劃線|底线|底線|点|點|杠|槓)"
_EMAIL = re.compile(
    rf"{_EMAIL_ASCII}|(?<![A-Za-z0-9_])[A-Za-z0-9]{_SPOKEN_PIECE}*(?:\s*(?:[@＠]|艾特|小老鼠)\s*|\s+at\s+)"
    rf"[A-Za-z0-9{_CN_DIGITS}\-]+(?:(?:点|點|\.)[A-Za-z]{{2,}})+")
_CHAT_ID = re.compile(
    rf"(?:微信|WeChat|wechat|LINE|Line)(?:\s*(?:ID|id|号|號))?\s*(?:是|为|為|係|吧|:|：)?\s*"
    rf"(?P<id>[A-Za-z@](?:\s?{_SPOKEN_PIECE})+)")


def _alnum_ids(text: str):
    for match in _ALNUM_ID.finditer(text):
        digits = re.sub(r"\s|-", "", match.group("digits")).translate(_TO_ASCII)
        letters = match.group("letters").replace(" ", "")
        if letters.upper() in ("QQ", "ID"):  # a label glued to the number (用户ID35663764): the number
            if len(digits) >= 5:
                yield match.start("digits"), match.end(), "account_id"
            continue
        start = match.start() + 2 if letters.upper().startswith(("QQ", "ID")) else match.start()  # 用户IDU1834...
        letters = letters[2:] if start > match.start() else letters
        hong_kong = len(letters) <= 2 and len(digits) == 7 and (match.group("check") or " " in match.group("digits"))
        if match.group("check") or hong_kong:
            yield start, match.end(), "id_number"
        elif len(digits) >= 7:
            taiwan = _TAIWAN_ID.fullmatch(letters + digits) and _label_before(text, start) != "account"
            yield start, match.end(), "id_number" if taiwan else "account_id"


def _emails(text: str):
    for match in _EMAIL.finditer(text):
        kind = "account_id" if _label_before(text, match.start()) == "account" else "email"
        yield match.start(), match.end(), kind


def _chat_ids(text: str):
    for match in _CHAT_ID.finditer(text):
        value = match.group("id").rstrip()
        if len(value.replace(" ", "")) >= 5:
            yield match.start("id"), match.start("id") + len(value), "account_id"


# --- licence plates ---------------------------------------------------------------------------

_PROVINCES = "京津沪滬渝冀豫云雲辽遼黑湘皖鲁魯新苏蘇浙赣贛鄂桂甘晋晉蒙陕陝吉闽閩贵貴粤粵青藏川宁寧琼瓊"
_MAINLAND_PLATE = re.compile(
    rf"[{_PROVINCES}][A-HJ-NP-Z][·•・\s]?(?=(?:[A-Z]*[{_D}]){{3}})[A-Z{_D}]{{5,6}}(?![A-Za-z{_D}])")
_VEHICLE = r"(?:车|車)(?:牌|號|号|辆|輛)?(?:号|號|码|碼)?(?:是|为|為|係|:|：)?\s*"
_OTHER_PLATE = re.compile(rf"{_VEHICLE}(?P<plate>[A-Z]{{2,3}}[\s\-]?[{_D}]{{1,4}}|[{_D}]{{4}}[\s\-]?[A-Z]{{2}})"
                          rf"(?![A-Za-z{_D}\-])")


def _plates(text: str):
    for match in _MAINLAND_PLATE.finditer(text):
        yield match.start(), match.end(), "plate"
    for match in _OTHER_PLATE.finditer(text):
        yield match.start("plate"), match.end("plate"), "plate"


# --- addresses --------------------------------------------------------------------------------

_NUM = rf"[{_D}十百千]+"
_UNIT = r"(?:号楼|號樓|号院|號院|单元|單元|栋|棟|幢|座|楼|樓|层|層|室|号|號|弄|巷|段|组|組|社|队|隊|院)"
_TAIL = re.compile(rf"(?:{_NUM}{_UNIT}(?:之{_NUM})?|[A-Za-z]室)+(?:{_NUM}(?:室|房)?(?![{_D}十百千]))?")
_BUILDING = re.compile(r"栋|棟|幢|座|号楼|號樓|号院|號院|单元|單元|室")
_BUILDING_NAME_END = ("樓", "楼", "大厦", "大廈", "中心", "公寓")  # 富華樓416室: a room after a named building
_NAME_IN_TAIL = re.compile(rf"[\u4e00-\u9fff]{{2,6}}?(?={_NUM}{_UNIT}|[A-Za-z]室)")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_ROAD_END, _VILLAGE_END = tuple("路街道巷"), ("村",)
_ADMIN_SUFFIX = set("省市区區县縣镇鎮乡鄉")
_NOT_ADMIN = tuple((
    "小区 小區 社区 社區 园区 園區 校区 校區 厂区 廠區 景区 景區 片区 片區 超市"
).split())
_HK_DISTRICTS = tuple((
    "香港仔 九龍 九龙 新界 港島 港岛 深水埗 旺角 油麻地 尖沙咀 紅磡 红磡 觀塘 "
    "观塘 沙田 荃灣 荃湾 屯門 屯门 元朗 將軍澳 将军澳 銅鑼灣 铜锣湾 灣仔 湾仔 "
    "中環 中环 北角 柴灣 柴湾 筲箕灣 筲箕湾 大埔 上水 粉嶺 粉岭 葵涌 青衣 東涌 "
    "东涌 黃大仙 黄大仙 土瓜灣 土瓜湾 長沙灣 长沙湾"
).split())
# words that introduce an address: the place name starts after them
_INTRODUCERS = (*"现居 現居 居住地 改成 单位 單位 名下 搬到 搬至 寄到 寄往 寄去 发到".split(),
                *"是在住到去至往为為址于於喺係咪问問了的嘅我你您他她佢们們把将將给給寄搬发發")
_LEFTMOST_MAX = {"admin": 3, "name": 8}
_NOT_A_PLACE = re.compile("[你我他她它们們您佢咱那哪这這]")  # 你们三栋, 公司那栋楼一楼: no address
_GENERIC_PLACES = {"小区", "小區", "社区", "社區", "公司", "单位", "單位", "大楼", "大樓", "宿舍", "写字楼", "寫字樓"}


def _introduced(text: str, end: int) -> bool:
    return text.endswith(_INTRODUCERS, 0, end)


def _is_admin_end(text: str, end: int) -> bool:
    return end > 0 and text[end - 1] in _ADMIN_SUFFIX and not text.endswith(_NOT_ADMIN, 0, end)


def _name_start(text: str, end: int, kind: str) -> int:
    """Where the place name ending at ``end`` starts: at the previous district or city (which the
    caller then extends over), at an introducing word, or after ``_LEFTMOST_MAX[kind]`` characters."""
    start = end
    while start > 0 and _CJK.match(text[start - 1]) and (start == end or not _is_admin_end(text, start)
                                                          and not text.endswith(_HK_DISTRICTS, 0, start)):
        if end - start >= 2 and (_introduced(text, start) or end - start >= _LEFTMOST_MAX[kind]):
            break
        start -= 1
    return start


def _extend_over_districts(text: str, start: int) -> int:
    """``start`` moved left over the district, city and province names just before it."""
    while True:
        hong_kong = next((d for d in _HK_DISTRICTS if text.endswith(d, 0, start)), None)
        if hong_kong:
            start -= len(hong_kong)
        elif _is_admin_end(text, start):
            name_start = _name_start(text, start - 1, "admin")
            if start - 1 - name_start < 1:
                return start
            start = name_start
        else:
            return start


def _addresses(text: str):
    position = 0
    while match := _TAIL.search(text, position):
        start, end = match.span()
        position = end
        while follow := _NAME_IN_TAIL.match(text, end):  # 文化路417号 嘉禾公寓 3栋102室
            more = _TAIL.match(text, follow.end())
            if not more:
                break
            end = position = more.end()
        head_end = start
        if text.endswith(_ROAD_END, 0, head_end) or text.endswith(_VILLAGE_END, 0, head_end):
            head_start = _name_start(text, head_end - 1, "name")
            if head_end - 1 - head_start < 1 and not _is_admin_end(text, head_start):
                continue
        elif _BUILDING.search(text, start, end) or text.endswith(_BUILDING_NAME_END, 0, start):
            head_start = _name_start(text, head_end, "name")
            if head_end - head_start < 2 or text[head_start:head_end] in _GENERIC_PLACES:
                continue
        else:
            continue
        if not _NOT_A_PLACE.search(text, head_start, head_end):
            yield _extend_over_districts(text, head_start), end, "address"


# --- names ------------------------------------------------------------------------------------

_SURNAMES = (
    "王李张張刘劉陈陳杨楊黄黃赵趙吴吳周徐孙孫马馬朱胡郭何高林罗羅郑鄭梁谢謝宋唐许許韩韓冯馮邓鄧曹彭曾肖蕭田董"
    "袁潘蒋蔣蔡余杜叶葉程苏蘇魏吕呂丁任沈姚卢盧姜崔钟鍾钟谭譚陆陸汪范金石廖贾賈夏韦韋付方白邹鄒孟熊秦邱江尹"
    "薛闫閆段雷侯龙龍史陶黎贺賀顾顧毛郝龚龔邵万萬钱錢严嚴覃武戴莫孔向汤湯常温溫康施文牛樊葛邢安齐齊易乔喬伍"
    "庞龐颜顏倪庄莊聂聶章鲁魯岳翟殷詹申欧歐耿关關兰蘭焦俞左柳甘祝包宁寧尚符舒阮柯纪紀梅童凌毕畢季裴霍涂成苗"
    "谷盛曲翁冉骆駱蓝藍路游辛靳管柴蒙鲍鮑华華喻祁蒲房滕屈饶饒牟艾尤阳陽时時穆农農卓古吉缪繆简簡车車项項"
    "连連芦蘆麦麥褚娄婁窦竇戚岑景党黨宫宮费費卜冷晏席卫衛米柏宗瞿桂佟应應臧闵閔苟邬鄔边邊卞姬仇栾欒隋"
    "刁沙荣榮巫寇桑郎甄丛叢仲虞敖巩鞏佘池查麻苑迟遲邝鄺洪赖賴區")
_COMPOUND_SURNAMES = tuple((
    "欧阳 歐陽 司马 司馬 诸葛 諸葛 上官 东方 東方 皇甫 令狐 慕容 司徒 公孙 公孫 "
    "夏侯 尉迟 尉遲 长孙 長孫 宇文 轩辕 軒轅"
).split())
_SURNAME = rf"(?:{'|'.join(_COMPOUND_SURNAMES)}|[{_SURNAMES}])"
# characters that end a name rather than continue it (particles, pronouns, verbs that follow names)
_NOT_GIVEN = ("的嘅了是在说說讲講已还還不没沒也都就又才吧呢吗嗎啊呀哦嗯么麼啦喔咯和跟与與给給把被让讓叫对對要会會能可"
              "想去来來到从從向以为為他她它我你您佢们們哋这這那个個些欠借钱錢打电電话話手号號里裏上下年月日天时時今昨"
              "后後现現先女太生身住病姓名找问問请請谢謝好有无無帮幫替早正快再很真第点點之员員长長一二三四五六七八九十零两兩"
              "幺洞百千万萬元块塊期次岁歲人工作等收")

# common words that begin with a surname character: never a name
_WORDS = tuple((
    "明天 明年 明白 方便 方面 方法 方案 方式 高兴 高興 高利 安排 安全 全部 全额 "
    "全額 关系 關係 关机 關機 时候 時候 时间 時間 余额 餘額 金额 金額 常常 连续 "
    "連續 万一 萬一 于是 向来 成功 白天 司机 司機 应该 應該 任何 车子 車子 车贷 "
    "車貸 文件 包括 马上 馬上 路上 管理 申请 申請 房子 房贷 房貸 房租 单位 單位 "
    "谢谢 謝謝 老实 程序 康复 康復 宁愿 寧願 曾经 曾經 尚未 周末 周一 周二 周三 "
    "周四 周五 周六 周日 沙发 黄牛 金融 钱包 錢包 石头 石頭 华为 華為 郑重 鄭重 "
    "高雄 高速 高中 关心 關心 邮政 郵政 史上 毛病 米饭 包子 车位 車位"
).split())
_WORD_RE = re.compile("|".join(_WORDS))  # a name never starts in or holds one of these words (谢谢先生, 我哥方便)
_HONORIFIC = tuple((
    "先生 女士 小姐 太太 经理 經理 律师 律師 老师 老師 专员 專員 主任 师傅 師傅 "
    "阿姨 叔叔 医生 醫生 警官 老板 老闆"
).split())
_RELATIONS = tuple((
    "先生 太太 老公 老婆 丈夫 妻子 爱人 愛人 配偶 前夫 前妻 哥哥 阿哥 大哥 弟弟 "
    "姐姐 家姐 妹妹 表哥 表弟 表姐 表妹 堂哥 堂弟 堂姐 堂妹 嫂子 弟媳 姐夫 妹夫 "
    "爸爸 妈妈 媽媽 阿媽 阿爸 父亲 父親 母亲 母親 儿子 兒子 女儿 女兒 同事 朋友 "
    "同学 同學 家属 家屬 邻居 鄰居 亲戚 親戚 舅舅 姑姑 岳父 岳母 公公 婆婆"
).split())
_SHORT_RELATIONS = tuple((
    "哥 姐 妹 弟 爸 妈 媽"
).split())
_ROLES = tuple((
    "姓名 户名 戶名 借款人 债务人 債務人 持卡人 收件人 车主 車主 担保人 擔保人 "
    "联系人 聯絡人 聯繫人 客户 客戶 我叫 他叫 她叫 佢叫 叫做 名叫"
).split())
_GIVEN = rf"(?:(?!{'|'.join(_HONORIFIC)})[\u4e00-\u9fff](?<![{_NOT_GIVEN}]))"

_MASKED_NAME = re.compile(rf"{_SURNAME}[*＊]{{1,3}}(?![*＊{_D}])")
_WITH_HONORIFIC = re.compile(  # 小 is in given names before an honorific (王小明先生), and ends a name elsewhere
    rf"(?P<name>{_SURNAME}(?:[\u4e00-\u9fff](?<![{_NOT_GIVEN.replace('小', '')}])){{0,2}}?)(?:{'|'.join(_HONORIFIC)})")
# Cantonese 陈生 (Mr), 何太 (Mrs): only as an address, so that 卫生 or 不得安生 are no names
_CANTONESE = re.compile(rf"(?:^|(?<=[^\u4e00-\u9fff])|(?<=[喂係系问問搵找是叫好]))(?P<name>(?![卫衛]){_SURNAME})"
                        rf"(?:生|太)(?=[\s,，。!！?？、]|你好|您好|呀|啊|嗎|吗|喇|$)")
_AFTER_RELATION = re.compile(rf"(?:{'|'.join(_RELATIONS + _SHORT_RELATIONS + _ROLES)})(?:是|叫|为|為|[:：])?\s?"
                             rf"(?P<name>{_SURNAME}{_GIVEN}{{1,2}})")
_BEFORE_RELATION = re.compile(rf"(?P<name>{_SURNAME}{_GIVEN}{{1,2}})(?:的|嘅)(?:{'|'.join(_RELATIONS)})")
_HOME = re.compile(rf"(?:是|找)(?P<name>{_SURNAME}{_GIVEN}{{1,2}})家(?=吗|嗎|么|吧|啊|呀|嘛|\s|$)")


def _names(text: str):
    for match in _MASKED_NAME.finditer(text):
        yield match.start(), match.end(), "name"
    for pattern in (_WITH_HONORIFIC, _CANTONESE, _AFTER_RELATION, _BEFORE_RELATION, _HOME):
        for match in pattern.finditer(text):
            start, end = match.span("name")
            words = _WORD_RE.finditer(text, max(0, start - 3), end)  # a word across its start or inside it
            if not any(w.start() <= start < w.end() or start <= w.start() and w.end() <= end for w in words):
                yield start, end, "name"


# --- all together -----------------------------------------------------------------------------

_DETECTORS = (_emails, _chat_ids, _alnum_ids, _plates, _numbers, _addresses, _names)


def mask_pii(text: str) -> str:
    """``text`` with every piece of personal data found replaced by its typed placeholder.

    Where detections overlap, the longest wins (an address that holds a number is one address).
    Text outside the detections is returned unchanged.

    Example:
        >>> mask_pii("我的电话 幺三九 幺二三四 五六七八 找王女士")
        '我的电话 [电话] 找[姓名]女士'
    """
    if not isinstance(text, str):
        raise TypeError(f"mask_pii expects a str, got {type(text).__name__}")
    spans = sorted({span for detect in _DETECTORS for span in detect(text)}, key=lambda s: (s[0] - s[1], s[0]))
    chosen: list[tuple[int, int, str]] = []
    for start, end, kind in spans:
        if start < end and all(end <= s or start >= e for s, e, _ in chosen):
            chosen.append((start, end, kind))
    out, position = [], 0
    for start, end, kind in sorted(chosen):
        out += [text[position:start], PLACEHOLDERS[kind]]
        position = end
    return "".join(out) + text[position:]


# Normalisation version 1's rules, frozen (model directories written before versions were recorded).
_V1_DIGIT = r"[0-9*＊xX×]"
_V1_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Mainland resident ID: 18 characters (last may be X) or the old 15-digit form; masked
# digits allowed.
_V1_ID = re.compile(rf"(?<![0-9*])[1-9]{_V1_DIGIT}{{14}}(?:{_V1_DIGIT}{{2}}[0-9Xx*])?(?![0-9*])")
# Bank cards: 16-19 digits, possibly grouped by spaces or dashes, masked digits allowed.
_V1_CARD = re.compile(rf"(?<![0-9*])(?:{_V1_DIGIT}{{4}}[ -]?){{3}}{_V1_DIGIT}{{4,7}}(?![0-9*])")
# Mainland mobile numbers (optionally +86), landlines with area code; masked digits allowed.
_V1_PHONE = re.compile(
    rf"(?<![0-9*])(?:\+?86[ -]?)?(?:1[3-9][0-9][ -]?{_V1_DIGIT}{{4}}[ -]?[0-9*]{{4}}"
    rf"|0[0-9]{{2,3}}-[0-9]{{7,8}})(?![0-9*])"
)


def mask_pii_v1(text: str) -> str:
    """The masking of normalisation version 1, frozen so that model directories trained with it score
    unchanged: e-mail addresses, ID, bank-card and phone numbers written with Arabic digits."""
    text = _V1_EMAIL.sub(EMAIL, text)
    text = _V1_ID.sub(ID_NUMBER, text)
    text = _V1_CARD.sub(CARD, text)
    return _V1_PHONE.sub(PHONE, text)
