"""Value generators for the PII test set. All values are invented (seeded RNG)."""
import random
import string

R = random.Random(20261207)

CN = dict(zip("0123456789", "零一二三四五六七八九"))
FILL_S = ["嗯", "那个", "就是", "呃", "嗯 对"]
FILL_T = ["嗯", "那個", "就是", "呃", "係"]

_used = set()


def uniq(fn):
    def wrap(*a, **k):
        for _ in range(200):
            v = fn(*a, **k)
            key = "".join(ch for ch in str(v) if ch.isalnum())
            if key not in _used:
                _used.add(key)
                return v
        raise RuntimeError("no unique value")
    return wrap


def digits(n, first_nonzero=False):
    while True:
        s = "".join(R.choice(string.digits) for _ in range(n))
        if first_nonzero and s[0] == "0":
            continue
        # avoid obviously patterned strings (runs of 4 equal / ascending)
        if any(s[i] == s[i + 1] == s[i + 2] == s[i + 3] for i in range(len(s) - 3)):
            continue
        if "1234" in s or "5678" in s or "0000" in s:
            continue
        return s


def say(ds, mode="cn", trad=False):
    """Digits -> spoken Chinese as an ASR would write them; non-digits kept."""
    two = "兩" if trad else "两"
    out = []
    for ch in ds:
        if not ch.isdigit():
            out.append(ch)
        elif mode == "cn":
            out.append(CN[ch])
        elif mode == "yao":
            out.append("幺" if ch == "1" else CN[ch])
        elif mode == "army":
            out.append({"1": "幺", "2": two, "0": "洞"}.get(ch, CN[ch]))
        elif mode == "mix1":  # inconsistent 1 reading, as real ASR output
            out.append(R.choice(["幺", "一"]) if ch == "1" else CN[ch])
        else:
            raise ValueError(mode)
    return "".join(out)


def cnnum(n, trad=False):
    """Integer 0..9999 -> Chinese counting form (一百二十八)."""
    if n == 0:
        return "零"
    units = [(1000, "千"), (100, "百"), (10, "十")]
    s, zero = "", False
    rest = n
    for u, name in units:
        d = rest // u
        rest %= u
        if d:
            if zero:
                s += "零"
                zero = False
            if not (u == 10 and d == 1 and s == ""):
                s += CN[str(d)]
            s += name
        elif s:
            zero = True
    if rest:
        if zero:
            s += "零"
        s += CN[str(rest)]
    return s


def group(s, sizes, sep=" "):
    out, i = [], 0
    for k in sizes:
        out.append(s[i:i + k])
        i += k
    if i < len(s):
        out.append(s[i:])
    return sep.join(x for x in out if x)


def fillers(trad):
    return FILL_T if trad else FILL_S


# ---------------------------------------------------------------- phone
MOB_PREFIX = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
              "153", "155", "156", "157", "158", "159", "166", "171", "173", "175", "176", "177",
              "178", "180", "181", "182", "183", "185", "186", "187", "188", "189", "191", "193",
              "195", "198", "199", "147"]
AREA = [("010", 8), ("021", 8), ("020", 8), ("0755", 8), ("0571", 8), ("028", 8), ("027", 8),
        ("025", 8), ("023", 8), ("0731", 8), ("0512", 8), ("0371", 8), ("029", 8), ("0551", 7),
        ("0898", 8), ("0311", 8), ("024", 8), ("0591", 8)]


@uniq
def mobile():
    return R.choice(MOB_PREFIX) + digits(8)


@uniq
def landline():
    area, n = R.choice(AREA)
    return area, digits(n, first_nonzero=True)


PHONE_FMTS_ASR = ["spk", "yao", "yao", "army", "mixed", "mixed", "fill", "fill", "mob", "space",
                  "spkland"]


def phone(fmt, style, trad):
    if fmt is None:
        fmt = {"asr": R.choice(PHONE_FMTS_ASR),
               "chat": R.choice(["mob", "mob", "space", "dash"]),
               "clean": R.choice(["mob", "dash", "space", "mob"])}[style]
    if fmt in ("tw", "twspk"):
        m = "09" + digits(8)
        while m in _used:
            m = "09" + digits(8)
        _used.add(m)
        if fmt == "twspk":
            return say(group(m, [4, 3, 3], R.choice([" ", ""])), R.choice(["cn", "yao"]), trad)
        return R.choice([group(m, [4, 3, 3], "-"), group(m, [4, 3, 3], " "), m,
                         "+886 " + group(m[1:], [3, 3, 3], " "), "+886-" + m[1:4] + "-" + m[4:]])
    if fmt in ("twland", "twlandspk"):
        area = R.choice(["02", "04", "07", "03", "06"])
        loc = digits(8 if area == "02" else 7, first_nonzero=True)
        if fmt == "twlandspk":
            return say(area + " " + group(loc, [len(loc) - 4, 4]), "cn", trad)
        body = loc[:-4] + "-" + loc[-4:]
        return R.choice([f"{area}-{body}", f"({area}){body}", f"{area} {loc[:-4]} {loc[-4:]}"])
    if fmt in ("hk", "hkspk", "hkland"):
        first = "2" if fmt == "hkland" else R.choice("569")
        m = first + digits(7)
        _used.add(m)
        if fmt == "hkspk":
            return say(group(m, [4, 4], R.choice([" ", ""])), "cn", trad)
        if fmt == "hkland":
            return R.choice([group(m, [4, 4]), group(m, [4, 4], "-")])
        return R.choice([group(m, [4, 4]), "+852 " + group(m, [4, 4]), group(m, [4, 4], "-"), m,
                         "(852) " + group(m, [4, 4])])
    if fmt in ("land", "spkland"):
        area, loc = landline()
        if fmt == "spkland":
            loc_g = group(loc, [4, 4]) if len(loc) == 8 else group(loc, [3, 4])
            return say(area + R.choice([" ", ""]) + loc_g, R.choice(["cn", "yao", "army"]), trad)
        loc_d = loc[:4] + R.choice(["", " ", "-"]) + loc[4:] if len(loc) == 8 else loc
        return R.choice([f"{area}-{loc}", f"{area} {loc}", f"({area}){loc}", f"{area}-{loc_d}"])
    m = mobile()
    if fmt == "mob":
        return m
    if fmt == "dash":
        return group(m, [3, 4, 4], "-")
    if fmt == "space":
        return group(m, [3, 4, 4], " ")
    if fmt == "p86":
        return R.choice(["+86 " + group(m, [3, 4, 4]), "+86-" + m, "86 " + m, "+86" + m,
                         "(+86)" + group(m, [3, 4, 4], "-")])
    if fmt == "spk":
        return say(group(m, [3, 4, 4], R.choice(["", " "])), "cn", trad)
    if fmt == "yao":
        return say(group(m, [3, 4, 4], R.choice(["", " ", " "])), R.choice(["yao", "mix1"]), trad)
    if fmt == "army":
        return say(group(m, [3, 4, 4], " "), "army", trad)
    if fmt == "mixed":
        g = [m[:3], m[3:7], m[7:]]
        pat = R.choice([(0, 1, 0), (0, 1, 1), (1, 0, 0), (0, 0, 1), (1, 1, 0)])
        mode = R.choice(["yao", "cn", "yao"])
        return " ".join(say(x, mode, trad) if p else x for x, p in zip(g, pat))
    if fmt == "fill":
        g = [say(x, R.choice(["yao", "mix1", "cn"]), trad) for x in (m[:3], m[3:7], m[7:])]
        f = fillers(trad)
        sep1 = R.choice([" ", " " + R.choice(f) + " "])
        sep2 = " " + R.choice(f) + " "
        if R.random() < 0.5:
            sep1, sep2 = sep2, sep1
        return g[0] + sep1 + g[1] + sep2 + g[2]
    raise ValueError(fmt)


# ---------------------------------------------------------------- id number
REGIONS = ["110105", "310104", "440305", "330106", "510107", "420111", "320106", "370203", "410105",
           "430104", "350203", "500112", "130104", "210102", "610113", "450103", "520102", "360102",
           "340104", "230103", "441900", "371302", "411302", "320583", "445202", "513701"]


@uniq
def id18(last=None):
    y = R.randint(1966, 2003)
    m = R.randint(1, 12)
    d = R.randint(1, 28)
    body = f"{R.choice(REGIONS)}{y}{m:02d}{d:02d}{digits(3)}"
    if last is None:
        last = "X" if R.random() < 0.18 else R.choice(string.digits)
    return body + last


def id_number(fmt, style, trad):
    if fmt is None:
        fmt = {"asr": R.choice(["spk", "spk", "spkg", "spkfill", "mixed", "yao"]),
               "chat": R.choice(["plain", "plain", "x", "space"]),
               "clean": R.choice(["plain", "X", "plain", "space"])}[style]
    if fmt == "tw" or fmt == "twspk":
        v = R.choice("ABCDEFGHJKLMNPQRSTUVXYWZIO") + R.choice("12") + digits(8)
        _used.add(v)
        if fmt == "twspk":
            return v[0] + R.choice(["", " "]) + say(v[1:], "cn", trad)
        return v
    if fmt in ("hk", "hkspk"):
        pre = R.choice("ACDEGHKPRVYZ") if R.random() < 0.85 else R.choice(["XA", "WX"])
        num = digits(6)
        chk = R.choice("0123456789A")
        _used.add(pre + num)
        if fmt == "hkspk":
            return pre + say(num + " " + chk, "cn", trad)
        return f"{pre}{num}({chk})"
    if fmt == "15":
        y = R.randint(50, 84)
        v = f"{R.choice(REGIONS)}{y}{R.randint(1,12):02d}{R.randint(1,28):02d}{digits(3)}"
        _used.add(v)
        return v
    if fmt == "spkX":
        v = id18("X")
        return say(group(v, [6, 8, 4], R.choice([" ", ""])), "cn", trad).replace("X", "叉")
    if fmt in ("X", "x"):
        v = id18("X")
        return v if fmt == "X" else v[:-1] + "x"
    v = id18()
    if fmt == "plain":
        return v
    if fmt == "space":
        return R.choice([group(v, [6, 8, 4]), group(v, [6, 4, 4, 4])])
    xsay = R.choice(["叉", "X", "艾克斯"]) if not trad else R.choice(["叉", "X"])

    def spoken(s, mode):
        return say(s, mode, trad).replace("X", xsay)
    if fmt == "spk":
        return spoken(v, "cn")
    if fmt == "yao":
        return spoken(group(v, [6, 8, 4], R.choice([" ", ""])), "mix1")
    if fmt == "spkg":
        return spoken(group(v, [6, 8, 4]), R.choice(["cn", "yao"]))
    if fmt == "spkfill":
        f = fillers(trad)
        return spoken(v[:6], "cn") + " " + R.choice(f) + " " + spoken(v[6:14], "cn") + " " + \
            R.choice(f) + " " + spoken(v[14:], "cn")
    if fmt == "mixed":
        return v[:6] + " " + spoken(v[6:14], "cn") + " " + v[14:]
    raise ValueError(fmt)


# ---------------------------------------------------------------- card
CARD_PREFIX = ["6222", "6217", "6228", "6212", "6214", "6230", "6259", "4367", "5218", "6225",
               "4392", "6282", "6216", "6226", "6236", "5187", "4062", "6221"]


@uniq
def card_num(length=None):
    if length is None:
        length = R.choice([16, 16, 16, 19, 19, 19, 18, 17])
    return R.choice(CARD_PREFIX) + digits(length - 4)


def card(fmt, style, trad):
    if fmt is None:
        fmt = {"asr": R.choice(["spk", "spk", "spkg", "mixed", "spkg"]),
               "chat": R.choice(["plain", "space", "plain", "dash"]),
               "clean": R.choice(["space", "dash", "plain", "space"])}[style]
    length = None
    if fmt.endswith("19"):
        length, fmt = 19, fmt[:-2]
    v = card_num(length)
    if fmt == "plain":
        return v
    if fmt == "space":
        return group(v, [4] * 5)
    if fmt == "dash":
        return group(v, [4] * 5, "-")
    if fmt == "spk":
        return say(v, R.choice(["cn", "yao"]), trad)
    if fmt == "spkg":
        return say(group(v, [4] * 5), R.choice(["cn", "yao", "mix1"]), trad)
    if fmt == "mixed":
        g = group(v, [4] * 5).split(" ")
        return " ".join(say(x, "cn", trad) if i % 2 else x for i, x in enumerate(g))
    raise ValueError(fmt)


# ---------------------------------------------------------------- email / accounts
PY_SUR = ["zhang", "wang", "li", "zhao", "liu", "chen", "yang", "huang", "zhou", "wu", "xu", "sun",
          "ma", "zhu", "hu", "guo", "he", "lin", "luo", "zheng", "song", "tang", "han", "deng", "cao"]
PY_GIV = ["wei", "fang", "na", "min", "jing", "li", "qiang", "lei", "jun", "yang", "yong", "yan",
          "jie", "juan", "tao", "ming", "chao", "xia", "ping", "gang", "hao", "yu", "xin", "yi",
          "lan", "mei", "kai", "bo", "rui", "ting"]
EN = ["lily", "kevin", "sunny", "vivian", "jack", "amy", "eric", "tony", "coco", "momo", "leo",
      "cindy", "ivy", "kelly", "jason", "alan"]
DOM_S = ["qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "gmail.com", "outlook.com",
         "139.com", "yeah.net", "sohu.com", "hotmail.com", "example.com"]
DOM_TW = ["gmail.com", "yahoo.com.tw", "hotmail.com", "outlook.com", "ms35.hinet.net",
          "example.com.tw"]
DOM_HK = ["gmail.com", "yahoo.com.hk", "netvigator.com", "outlook.com", "hotmail.com",
          "example.com.hk"]


def _user():
    k = R.randint(0, 6)
    s, g = R.choice(PY_SUR), R.choice(PY_GIV)
    yr = str(R.randint(1970, 2003))
    if k == 0:
        return s + g + yr
    if k == 1:
        return f"{s}_{g}{R.randint(10, 99)}"
    if k == 2:
        return f"{s}.{g}{R.choice(['', str(R.randint(1, 999))])}"
    if k == 3:
        return f"{s[0]}{g[0]}{R.choice(PY_GIV)[0]}{R.randint(1,12):02d}{R.randint(1,28):02d}"
    if k == 4:
        return f"{R.choice(EN)}{R.choice(['.', '_', ''])}{s}{R.randint(1, 99)}"
    if k == 5:
        return f"{g}{s}{yr[2:]}"
    return f"{R.choice(EN)}{yr}"


@uniq
def email_plain(region="cn"):
    dom = {"cn": DOM_S, "tw": DOM_TW, "hk": DOM_HK}[region]
    return _user() + "@" + R.choice(dom)


def email(fmt, style, trad):
    if fmt == "qq":
        v = digits(R.randint(6, 10), first_nonzero=True) + "@qq.com"
        _used.add(v)
        if style == "asr":
            u = v.split("@")[0]
            return say(u, "yao", trad) + R.choice(["艾特", "@", " at "]) + "qq点com"
        return v
    region = fmt if fmt in ("tw", "hk") else "cn"
    v = email_plain(region)
    if style == "asr" or fmt == "spk":
        user, dom = v.split("@")
        # ASR keeps latin letters, may speak digits, writes @ and . as words
        speak = R.random() < 0.7
        user = "".join(say(c, "cn", trad) if c.isdigit() and speak else c for c in user)
        user = user.replace(".", "点" if not trad else "點").replace("_", "下划线" if not trad else "底線")
        dot = "点" if not trad else "點"
        at = R.choice(["艾特", "@", " at ", "艾特"]) if not trad else R.choice(["小老鼠", "@", " at "])
        dom = dom.replace(".", dot)
        if dom[0].isdigit():
            dom = R.choice([dom, say(dom[:3], "yao", trad) + dom[3:]])
        return user + at + dom
    return v


@uniq
def wechat_plain():
    k = R.randint(0, 5)
    s, g = R.choice(PY_SUR), R.choice(PY_GIV)
    if k == 0:
        return f"{s[0]}{g[0]}_{R.randint(1975, 2002)}"
    if k == 1:
        return "wxid_" + "".join(R.choice(string.ascii_lowercase + string.digits) for _ in range(12))
    if k == 2:
        return f"{s}{g}{R.randint(1,12):02d}{R.randint(1,28):02d}"
    if k == 3:
        return f"{g.capitalize()}_{s.capitalize()}{R.randint(10, 99)}"
    if k == 4:
        return f"{R.choice(EN)}-{s}{R.randint(100, 999)}"
    return f"{s}{g}{R.choice(['888', '666', '520', '1314', '99', '07'])}"


def spell_id(v, trad, spell_letters=True):
    out = []
    for c in v:
        if c.isdigit():
            out.append(say(c, R.choice(["cn", "yao"]), trad))
        elif c == "_":
            out.append(" 下划线 " if not trad else " 底線 ")
        elif c == "-":
            out.append(" 杠 " if not trad else " 槓 ")
        else:
            out.append(c.lower() + (" " if spell_letters else ""))
    return " ".join("".join(out).split())


def wechat(fmt, style, trad):
    v = wechat_plain()
    if style == "asr" and not v.startswith("wxid_"):
        return spell_id(v, trad, spell_letters=R.random() < 0.5)
    return v


def qq(fmt, style, trad):
    v = digits(R.randint(5, 11), first_nonzero=True)
    _used.add(v)
    if style == "asr" and fmt != "plain":
        return say(v, R.choice(["cn", "yao", "mix1"]), trad)
    return v


@uniq
def line_id():
    k = R.randint(0, 3)
    s, g = R.choice(PY_SUR), R.choice(PY_GIV)
    if k == 0:
        return f"{s}{g}{R.randint(10, 999)}"
    if k == 1:
        return f"{R.choice(EN)}_{R.randint(1980, 2003)}"
    if k == 2:
        return f"{R.choice(EN)}.{s}"
    return f"@{R.choice(EN)}{R.randint(10, 99)}{s[:2]}"


def line(fmt, style, trad):
    v = line_id()
    if style == "asr":
        return spell_id(v.lstrip("@"), trad, spell_letters=False)
    return v


def alipay(fmt, style, trad):
    if fmt is None:
        fmt = R.choice(["phone", "phone", "email"])
    if fmt == "phone":
        return phone(R.choice(["spk", "yao", "fill", "mixed"]) if style == "asr" else R.choice(["mob", "mob", "space"]), style, trad)
    return email(None, style, trad)


@uniq
def contract_plain():
    y = R.randint(2021, 2025)
    md = f"{R.randint(1,12):02d}{R.randint(1,28):02d}"
    k = R.randint(0, 5)
    if k == 0:
        return f"HT{y}{md}{digits(5)}"
    if k == 1:
        return f"JK{y}{md}{digits(6)}"
    if k == 2:
        return f"XD-{y}-{digits(7)}"
    if k == 3:
        return f"DK{y}{digits(8)}"
    if k == 4:
        return f"CF{str(y)[2:]}{md}{digits(6)}"
    return f"LN{y}{md}-{digits(4)}"


def contract(fmt, style, trad):
    v = contract_plain()
    if style == "asr":
        letters = "".join(c for c in v if c.isalpha())
        rest = v[len(letters):].replace("-", "")
        return " ".join(letters) + " " + say(rest, R.choice(["cn", "yao"]), trad)
    return v


@uniq
def bank_acct_plain():
    k = R.randint(0, 3)
    if k == 0:
        return digits(R.choice([12, 13, 14, 15]), first_nonzero=True)
    if k == 1:
        return group(digits(20, True), [4] * 5)
    if k == 2:
        return digits(R.choice([20, 21, 22]), first_nonzero=True)
    return f"{digits(4, True)}-{digits(4)}-{digits(4)}-{digits(3)}"


def bank_acct(fmt, style, trad):
    v = bank_acct_plain()
    if style == "asr":
        return say(v.replace("-", " "), "cn", trad)
    return v


def app_id(fmt, style, trad):
    k = R.randint(0, 2)
    if k == 0:
        v = digits(R.randint(8, 10), True)
    elif k == 1:
        v = "U" + digits(9)
    else:
        v = "VIP" + str(R.randint(2019, 2024)) + digits(5)
    _used.add(v)
    if style == "asr":
        return say(v, "yao", trad)
    return v


# ---------------------------------------------------------------- plate
PROV = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤川宁琼"
PROV_T = dict(zip("沪粤辽鲁苏赣陕闽贵宁云晋琼", "滬粵遼魯蘇贛陝閩貴寧雲晉瓊"))
LET = "ABCDEFGHJKLMNPQRSTUVWXYZ"


@uniq
def plate_core(ne=False):
    p = R.choice(PROV)
    c = R.choice("ABCDEFGHJK")
    if ne:
        tail = R.choice("DF") + digits(5)
    else:
        t = list(digits(5))
        for _ in range(R.choice([0, 0, 1, 1, 2])):
            t[R.randint(0, 4)] = R.choice(LET)
        tail = "".join(t)
    return p, c, tail


def plate(fmt, style, trad):
    if fmt == "tw":
        L = "ABCDEFGHJKLMNPQRSTUVWXYZ"
        v = R.choice(["".join(R.choice(L) for _ in range(3)) + "-" + digits(4, True),
                      "".join(R.choice(L) for _ in range(2)) + "-" + digits(4, True),
                      digits(4, True) + "-" + "".join(R.choice(L) for _ in range(2))])
        _used.add(v)
        if style == "asr":
            a, b = v.split("-")
            return (a + " " + say(b, "cn", trad)) if a.isalpha() else (say(a, "cn", trad) + " " + b)
        return v
    if fmt == "hk":
        v = "".join(R.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(2)) + " " + \
            str(R.randint(1, 9999))
        _used.add(v)
        if style == "asr":
            a, b = v.split(" ")
            return a + " " + say(b, "cn", trad)
        return v
    ne = (fmt == "ne") or (fmt is None and R.random() < 0.35)
    p, c, tail = plate_core(ne)
    if trad:
        p = PROV_T.get(p, p)
    if style == "asr":
        spoken = "".join(say(ch, R.choice(["yao", "army", "cn"]) if ne else "yao", trad)
                         if ch.isdigit() else ch for ch in tail)
        return p + c + R.choice([" ", ""]) + spoken
    return p + c + R.choice(["", "", "·", " "]) + tail


# ---------------------------------------------------------------- address
CITY_DIST = ["北京市朝阳区", "上海市浦东新区", "广州市天河区", "深圳市南山区", "杭州市西湖区",
             "成都市武侯区", "武汉市洪山区", "南京市鼓楼区", "重庆市渝北区", "长沙市岳麓区",
             "郑州市金水区", "西安市雁塔区", "合肥市蜀山区", "济南市历下区", "昆明市五华区",
             "南宁市青秀区", "福州市鼓楼区", "石家庄市裕华区", "沈阳市和平区", "苏州市吴中区",
             "东莞市南城", "佛山市顺德区", "海淀区", "宝安区", "江北区", "二七区", "天河区"]
COM1 = ["金色", "阳光", "翠湖", "锦绣", "幸福", "丽景", "枫林", "书香", "和平", "东方", "碧水", "星河",
        "紫荆", "桂园", "滨江", "明珠", "福星", "泰和", "嘉禾", "康乐", "文华", "红星", "青年", "盛世",
        "润泽", "怡景", "望湖", "香樟"]
COM2 = ["花园", "家园", "苑", "新村", "名都", "雅居", "公寓", "小区", "华庭", "嘉园", "佳苑", "新城",
        "里", "湾"]
ROADS = ["建设路", "人民路", "解放路", "中山路", "长江路", "学府路", "文化路", "新华路", "胜利路",
         "和平路", "青年路", "光明路", "工农路", "幸福大道", "东风路", "民主路", "朝阳路", "滨河路",
         "科技路", "金沙江路", "黄河路", "迎宾大道"]
COUNTY = ["长丰县", "桐城市", "固始县", "邵东市", "蕲春县", "宾阳县", "仁寿县", "兴化市", "鄄城县",
          "新化县", "安岳县", "汝南县", "沭阳县", "灵璧县"]
TOWN = ["城关镇", "黄湾镇", "马集镇", "石门镇", "双河镇", "白沙镇", "柳林镇", "新桥镇", "杨庄乡",
        "高峰乡", "三合镇", "龙泉镇"]
VILLAGE = ["李家村", "王庄村", "杨柳村", "河东村", "前进村", "新民村", "红旗村", "大塘村", "张湾村",
           "石桥村", "双龙村", "八里村", "后营村", "田坝村", "周家村"]
BIZ = ["华中大厦", "国贸中心", "金融港", "创业园", "时代广场", "科技大厦", "万象写字楼"]


def room(floor, idx, spoken, trad):
    r = f"{floor}{idx:02d}"
    if spoken:
        return say(r, R.choice(["cn", "yao", "mix1"]), trad)
    return r


def num(n, spoken, trad, digitwise_ok=True):
    if not spoken:
        return str(n)
    if digitwise_ok and n >= 100 and R.random() < 0.4:
        return say(str(n), "yao", trad)
    return cnnum(n, trad)


def _address_cn(kind, spoken):
    pre = R.choice(CITY_DIST) if R.random() < 0.55 else ""
    if kind == "com":
        name = R.choice(COM1) + R.choice(COM2)
        if not name.endswith("小区") and R.random() < 0.35:
            name += "小区"
        b = R.randint(1, 32)
        bld = num(b, spoken, False, False) + R.choice(["栋", "幢", "号楼", "栋", "号楼"])
        u = num(R.randint(1, 6), spoken, False) + "单元"
        fl, ix = R.randint(1, 33), R.randint(1, 6)
        rm = room(fl, ix, spoken, False) + R.choice(["室", "", "室", "号"])
        if R.random() < 0.2:
            return pre + name + bld + rm  # no unit
        return pre + name + bld + u + rm
    if kind == "road":
        k = R.randint(0, 4)
        road = R.choice(ROADS)
        n = num(R.randint(1, 999), spoken, False) + "号"
        if k == 0:
            return pre + road + n
        if k == 1:
            return pre + road + n + R.choice(COM1) + R.choice(["小区", "花园", "公寓"]) + \
                num(R.randint(1, 20), spoken, False, False) + "栋" + room(R.randint(1, 25), R.randint(1, 4), spoken, False) + "室"
        if k == 2:
            return pre + road + n + R.choice(BIZ) + num(R.randint(2, 40), spoken, False, False) + "楼" + \
                room(R.randint(2, 40), R.randint(1, 12), spoken, False)
        if k == 3:
            return pre + road + num(R.randint(10, 999), spoken, False) + "弄" + \
                num(R.randint(1, 60), spoken, False, False) + "号" + room(R.randint(1, 9), R.randint(1, 3), spoken, False) + "室"
        return pre + road + n + "院" + num(R.randint(1, 15), spoken, False, False) + "号楼" + \
            num(R.randint(1, 5), spoken, False) + "单元" + room(R.randint(1, 18), R.randint(1, 4), spoken, False)
    if kind == "vil":
        pre2 = R.choice(COUNTY) if R.random() < 0.6 else ""
        g = R.randint(1, 12)
        grp = (cnnum(g) if (spoken or R.random() < 0.5) else str(g)) + "组"
        tail = ""
        if R.random() < 0.4:
            tail = num(R.randint(1, 80), spoken, False, False) + "号"
        return pre2 + R.choice(TOWN) + R.choice(VILLAGE) + grp + tail if pre2 or R.random() < 0.5 \
            else R.choice(VILLAGE) + grp + tail
    raise ValueError(kind)


TW_CD = ["台北市大安區", "台北市信義區", "新北市板橋區", "新北市三重區", "桃園市中壢區", "台中市西屯區",
         "台中市北區", "台南市東區", "高雄市苓雅區", "高雄市三民區", "新竹市東區", ""]
TW_RD = ["中正路", "中山路", "民生路", "民族路", "建國路", "復興路", "自由路", "中華路二段", "民權路",
         "光復路"]
TW_PAIR = [("台北市大安區", "和平東路二段"), ("台北市信義區", "忠孝東路五段"), ("台北市中山區", "中山北路三段"),
           ("新北市板橋區", "文化路一段"), ("台中市西屯區", "福科路"), ("台中市南屯區", "公益路二段")]
HK_PAIR = [("九龍旺角", "彌敦道"), ("北角", "英皇道"), ("新界屯門", "青山公路"), ("九龍深水埗", "長沙灣道"),
           ("九龍觀塘", "觀塘道"), ("九龍荔枝角", "荔枝角道"), ("九龍深水埗", "大埔道"), ("", "英皇道"),
           ("", "彌敦道")]
HK_D = ["九龍觀塘", "新界沙田", "新界屯門", "香港仔", "九龍深水埗", "新界元朗", "將軍澳", ""]
HK_EST = ["翠峰", "禾景", "富康", "安泰", "海暉", "朗盈", "健雅", "順欣"]
HK_BLK = ["富華樓", "康寧樓", "安逸樓", "海星樓", "朗月樓", "欣怡樓"]
TC_CD = ["深圳市福田區", "廣州市天河區", "上海市浦東新區", "廈門市思明區", "北京市朝陽區", "東莞市", ""]
TC1 = ["金色", "陽光", "翠湖", "錦繡", "幸福", "麗景", "楓林", "書香", "東方", "碧水", "星河"]
TC2 = ["花園", "家園", "苑", "新村", "名都", "雅居", "公寓", "小區"]


def address(fmt, style, trad):
    spoken = style == "asr"
    if fmt in (None, "com", "road", "vil"):
        kind = fmt or R.choice(["com", "com", "road", "vil"])
        return _address_cn(kind, spoken)
    if fmt == "tw":
        s = "".join(R.choice(TW_PAIR)) if R.random() < 0.4 else R.choice(TW_CD) + R.choice(TW_RD)
        if R.random() < 0.4:
            s += num(R.randint(2, 300), spoken, True, False) + "巷"
            if R.random() < 0.3:
                s += num(R.randint(1, 30), spoken, True, False) + "弄"
        s += num(R.randint(1, 400), spoken, True, False) + "號"
        if R.random() < 0.8:
            s += num(R.randint(2, 21), spoken, True, False) + "樓"
            if R.random() < 0.3:
                s += "之" + num(R.randint(1, 5), spoken, True, False)
        return s
    if fmt == "hk":
        k = R.randint(0, 2)
        d = R.choice(HK_D)
        if k == 0:
            return "".join(R.choice(HK_PAIR)) + num(R.randint(1, 800), spoken, True, False) + "號" + \
                num(R.randint(2, 30), spoken, True, False) + "樓" + R.choice("ABCDEFG") + "室"
        if k == 1:
            fl = R.randint(2, 35)
            return d + R.choice(HK_EST) + "邨" + R.choice(HK_BLK) + \
                room(fl, R.randint(1, 20), spoken, True) + "室"
        return d + R.choice(HK_EST) + "苑" + num(R.randint(1, 12), spoken, True, False) + "座" + \
            num(R.randint(2, 30), spoken, True, False) + "樓" + R.choice("ABCDEFGH") + "室"
    if fmt == "tcom":
        name = R.choice(TC1) + R.choice(TC2)
        return R.choice(TC_CD) + name + num(R.randint(1, 30), spoken, True, False) + "棟" + \
            num(R.randint(1, 5), spoken, True) + "單元" + room(R.randint(1, 30), R.randint(1, 4), spoken, True) + \
            R.choice(["室", ""])
    raise ValueError(fmt)


# ---------------------------------------------------------------- names
SUR_S = list("张王李赵刘陈杨黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
             "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵"
             "万钱严武戴孔汤")
GIV_S = {"m": ["伟", "强", "磊", "军", "勇", "杰", "涛", "明", "超", "刚", "建华", "文博", "浩然", "志强",
               "晓东", "国庆", "宇航", "思远", "立新", "建国", "俊杰", "振华", "永刚", "小龙", "德明", "鹏",
               "亮", "斌", "洋", "海波", "家乐", "子豪"],
         "f": ["芳", "娜", "秀英", "敏", "静", "丽", "艳", "娟", "秀兰", "霞", "桂英", "子涵", "雨萱", "海燕",
               "春梅", "红梅", "玉兰", "欣怡", "佳琪", "丽娟", "婷婷", "晨曦", "淑珍", "慧", "晓燕", "梦瑶"]}
SUR_T = list("陳林黃張李王吳劉蔡楊許鄭謝郭洪曾邱廖賴周葉蘇莊呂江何蕭羅高梁馬麥區譚鄧黎")
GIV_T = {"m": ["志明", "家豪", "冠宇", "建宏", "俊傑", "偉倫", "宗翰", "志偉", "國強", "文傑", "子軒", "振邦",
               "永康", "嘉倫", "承恩", "柏翰"],
         "f": ["淑芬", "美玲", "雅婷", "怡君", "嘉欣", "詠琪", "佩珊", "慧敏", "美華", "麗珠", "凱琳", "寶儀",
               "秀蘭", "嘉慧", "曉彤", "家瑜"]}


@uniq
def fullname(trad, gender):
    g = gender or R.choice("mf")
    return R.choice(SUR_T if trad else SUR_S) + R.choice((GIV_T if trad else GIV_S)[g])


def name(kind, style, trad, gender=None):
    sur = R.choice(SUR_T if trad else SUR_S)
    if kind == "nm":
        return fullname(trad, gender)
    if kind == "sn":
        return sur
    if kind == "mn":
        return sur + R.choice(["**", "**", "*"])
    raise ValueError(kind)
