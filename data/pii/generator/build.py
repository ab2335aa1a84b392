"""Build data/pii/pii_testset.jsonl and its README from the templates; verify every row."""
import json
import re
import sys
from collections import Counter
from pathlib import Path

import gen
import tpl_neg
import tpl_pii

OUT_DIR = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/main/data/pii")
TYPES = ["phone", "id_number", "card", "email", "account_id", "plate", "address", "name"]
SLOT = re.compile(r"\{(\w+)(?::(\w+))?\}")
SLOT_TYPE = {"ph": "phone", "id": "id_number", "card": "card", "em": "email", "wx": "account_id",
             "qq": "account_id", "ali": "account_id", "ht": "account_id", "bank": "account_id",
             "app": "account_id", "line": "account_id", "pl": "plate", "ad": "address",
             "nm": "name", "sn": "name", "mn": "name"}
FUNC = {"ph": gen.phone, "id": gen.id_number, "card": gen.card, "em": gen.email, "wx": gen.wechat,
        "qq": gen.qq, "ali": gen.alipay, "ht": gen.contract, "bank": gen.bank_acct,
        "app": gen.app_id, "line": gen.line, "pl": gen.plate, "ad": gen.address}
PUNCT = set("，。？！、：；,.?!:;（）()【】")


def lines(block):
    return [x.strip() for x in block.strip().splitlines() if x.strip()]


MALE_AFTER = ("先生", "经理", "經理")
FEMALE_AFTER = ("女士", "小姐", "太太", "太")
MALE_BEFORE = ("老公", "丈夫", "哥", "弟", "爸", "父亲", "父親", "儿子", "兒子", "前夫", "先生", "阿哥")
FEMALE_BEFORE = ("老婆", "妻子", "妹", "姐", "嫂子", "妈", "媽", "母亲", "母親", "女儿", "女兒", "弟媳",
                 "太太")


def infer_gender(template, m):
    """Pick a name that fits the honorific, relation word or pronoun around the slot."""
    if m.group(2) in ("m", "f"):
        return m.group(2)
    after, before = template[m.end():m.end() + 4], template[:m.start()]
    if after.startswith(MALE_AFTER):
        return "m"
    if after.startswith(FEMALE_AFTER):
        return "f"
    if before.endswith(MALE_BEFORE):
        return "m"
    if before.endswith(FEMALE_BEFORE):
        return "f"
    for ch in template[m.end():]:
        if ch in "他佢":
            return "m" if ch == "他" else None
        if ch == "她":
            return "f"
    return None


def fill(template, style, script):
    trad = script == "traditional"
    text, spans, pos = "", [], 0
    for m in SLOT.finditer(template):
        text += template[pos:m.start()]
        kind, fmt = m.group(1), m.group(2)
        if kind in ("nm", "sn", "mn"):
            value = gen.name(kind, style, trad, infer_gender(template, m))
        else:
            value = FUNC[kind](fmt, style, trad)
        spans.append({"start": len(text), "end": len(text) + len(value), "type": SLOT_TYPE[kind],
                      "value": value, "_fmt": f"{kind}:{fmt or 'default'}"})
        text += value
        pos = m.end()
    text += template[pos:]
    return text, spans


def build():
    rows, seen_tpl = [], set()
    for mod, has_pii in ((tpl_pii, True), (tpl_neg, False)):
        for block, style, script in (("CLEAN_S", "clean", "simplified"), ("CHAT_S", "chat", "simplified"),
                                     ("ASR_S", "asr", "simplified"), ("CLEAN_T", "clean", "traditional"),
                                     ("CHAT_T", "chat", "traditional"), ("ASR_T", "asr", "traditional")):
            for t in lines(getattr(mod, block)):
                assert t not in seen_tpl, ("frame used twice", t)
                seen_tpl.add(t)
                if has_pii:
                    assert SLOT.search(t), t
                else:
                    assert not SLOT.search(t), t
                if style == "asr":
                    assert not (set(SLOT.sub("", t)) & PUNCT), ("punctuation in asr", t)
                text, spans = fill(t, style, script)
                rows.append({"text": text, "style": style, "script": script, "spans": spans})
    gen.R.shuffle(rows)
    for i, r in enumerate(rows, 1):
        r["id"] = f"pii-{i:04d}"
    return rows


def verify(rows):
    seen = set()
    for r in rows:
        t = r["text"]
        assert t not in seen, ("duplicate text", t)
        seen.add(t)
        assert r["style"] in ("clean", "asr", "chat") and r["script"] in ("simplified", "traditional")
        assert "{" not in t and "}" not in t, t
        last_end = 0
        for s in sorted(r["spans"], key=lambda s: s["start"]):
            assert s["type"] in TYPES, s
            assert 0 <= s["start"] < s["end"] <= len(t), s
            assert t[s["start"]:s["end"]] == s["value"], (t, s)
            assert s["start"] >= last_end, ("overlap", r["id"])
            assert s["value"] == s["value"].strip(), s
            last_end = s["end"]
        if r["style"] == "asr":
            outside = "".join(ch for i, ch in enumerate(t)
                              if not any(s["start"] <= i < s["end"] for s in r["spans"]))
            assert not (set(outside) & PUNCT), (r["id"], t)
    # a value recorded once is not left unmarked elsewhere in the same row
    for r in rows:
        for s in r["spans"]:
            assert r["text"].count(s["value"]) == 1 or s["type"] == "name", (r["id"], s["value"])


def counts(rows):
    pii = [r for r in rows if r["spans"]]
    neg = [r for r in rows if not r["spans"]]
    c = {
        "rows": len(rows), "pii_rows": len(pii), "no_pii_rows": len(neg),
        "multi_span_rows": sum(len(r["spans"]) >= 2 for r in rows),
        "spans": sum(len(r["spans"]) for r in rows),
        "type": Counter(s["type"] for r in rows for s in r["spans"]),
        "type_rows": Counter(t for r in rows for t in {s["type"] for s in r["spans"]}),
        "style": Counter(r["style"] for r in rows),
        "script": Counter(r["script"] for r in rows),
        "style_pii": Counter(r["style"] for r in pii), "style_neg": Counter(r["style"] for r in neg),
        "script_pii": Counter(r["script"] for r in pii), "script_neg": Counter(r["script"] for r in neg),
        "type_style": Counter((s["type"], r["style"]) for r in rows for s in r["spans"]),
        "type_script": Counter((s["type"], r["script"]) for r in rows for s in r["spans"]),
        "fmt": Counter(s["_fmt"] for r in rows for s in r["spans"]),
    }
    return c


def main():
    rows = build()
    verify(rows)
    c = counts(rows)
    mins = {"phone": 70, "id_number": 45, "card": 45, "email": 25, "account_id": 40, "plate": 20,
            "address": 50, "name": 40}
    for t, m in mins.items():
        if c["type"][t] < m: print("SHORT", t, c["type"][t])
    assert c["rows"] >= 420 and c["pii_rows"] >= 320 and c["no_pii_rows"] >= 100, c
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with open(OUT_DIR / "pii_testset.jsonl", "w", encoding="utf-8") as f:
        for r in rows:
            out = {"id": r["id"], "text": r["text"], "style": r["style"], "script": r["script"],
                   "spans": [{k: s[k] for k in ("start", "end", "type", "value")}
                             for s in sorted(r["spans"], key=lambda s: s["start"])]}
            f.write(json.dumps(out, ensure_ascii=False) + "\n")
    write_readme(rows, c)
    json.dump({k: (dict(v) if isinstance(v, Counter) else v) for k, v in c.items()
               if k not in ("type_style", "type_script", "fmt")},
              sys.stdout, ensure_ascii=False, indent=1)
    print()
    for k in ("type_style", "type_script"):
        print(k, sorted(c[k].items()))
    print(sorted(c["fmt"].items()))
    return rows, c



SPOKEN = set("零一二三四五六七八九幺两兩洞")


def subkind(s):
    t, v = s["type"], s["value"]
    kind, fmt = s["_fmt"].split(":")
    spoken = bool(set(v) & SPOKEN) and t not in ("address", "name")
    if t == "phone":
        k = ("Taiwan" if fmt.startswith("tw") else "Hong Kong" if fmt.startswith("hk")
             else "mainland landline" if fmt in ("land", "spkland") else "mainland mobile")
    elif t == "id_number":
        k = ("Taiwan ID" if fmt.startswith("tw") else "Hong Kong ID" if fmt.startswith("hk")
             else "mainland 15-digit" if fmt == "15" else "mainland 18-digit")
    elif t == "card":
        n = sum(ch.isdigit() or ch in SPOKEN for ch in v)
        k = f"{n} digits"
    elif t == "account_id":
        k = {"wx": "WeChat ID", "qq": "QQ number", "ali": "Alipay account (phone or email form)",
             "ht": "loan contract / loan number", "bank": "bank or loan account number",
             "app": "lending-app user ID", "line": "LINE ID"}[kind]
    elif t == "plate":
        if fmt in ("tw", "hk"):
            k = "Taiwan" if fmt == "tw" else "Hong Kong"
        else:
            tail = "".join(ch for ch in v[2:] if ch not in " ·")
            k = "mainland new-energy" if len(tail) == 6 else "mainland standard"
    elif t == "address":
        if fmt in ("tw", "hk"):
            k = "Taiwan" if fmt == "tw" else "Hong Kong"
        elif fmt == "tcom":
            k = "mainland, traditional script"
        elif "村" in v and "组" in v:
            k = "village + group (村/组)"
        elif any(x in v for x in ("路", "大道")):
            k = "road + number (some with building/room)"
        else:
            k = "community + building/unit/room"
    elif t == "email":
        k = ("QQ-number mailbox" if fmt == "qq" else "Taiwan/Hong Kong domain" if fmt in ("tw", "hk")
             else "user@domain")
        spoken = "@" not in v or "点" in v or "點" in v
    else:
        k = {"nm": "full name + honorific/relation", "sn": "surname + honorific (王女士, 陈生)",
             "mn": "masked name (李**, 李*)"}[kind]
    return k, spoken


def table(header, rows_):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(x) for x in r) + " |" for r in rows_]
    return "\n".join(out)


def write_readme(rows, c):
    styles, scripts = ["asr", "chat", "clean"], ["simplified", "traditional"]
    n = c["rows"]
    type_rows = [[t, c["type"][t], c["type_rows"][t]] + [c["type_style"][(t, s)] for s in styles] +
                 [c["type_script"][(t, s)] for s in scripts] for t in TYPES]
    type_rows.append(["**all**", c["spans"], c["pii_rows"]] +
                     [sum(c["type_style"][(t, s)] for t in TYPES) for s in styles] +
                     [sum(c["type_script"][(t, s)] for t in TYPES) for s in scripts])
    ss = Counter((r["style"], r["script"], bool(r["spans"])) for r in rows)
    ss_rows = [[s] + [ss[(s, sc, True)] for sc in scripts] + [ss[(s, sc, False)] for sc in scripts] +
               [c["style"][s], f"{c['style'][s] / n:.0%}"] for s in styles]
    ss_rows.append(["**all**"] + [c["script_pii"][sc] for sc in scripts] +
                   [c["script_neg"][sc] for sc in scripts] + [n, "100%"])
    sub = Counter()
    spoken = Counter()
    for r in rows:
        for s in r["spans"]:
            k, sp = subkind(s)
            sub[(s["type"], k)] += 1
            spoken[s["type"]] += sp
    sub_rows = [[t, k, v] for (t, k), v in sorted(sub.items(), key=lambda x: (TYPES.index(x[0][0]), -x[1]))]
    spoken_rows = [[t, spoken[t], c["type"][t]] for t in TYPES if t not in ("address", "name")]
    spoken_rows.append(["address", sum(bool(set(s["value"]) & SPOKEN) and r["style"] == "asr"
                                       for r in rows for s in r["spans"] if s["type"] == "address"),
                        c["type"]["address"]])
    nspan = Counter(len(r["spans"]) for r in rows)
    text = README.format(
        simp=c["script"]["simplified"], trad=c["script"]["traditional"],
        simp_pct=f"{c['script']['simplified'] / n:.0%}", trad_pct=f"{c['script']['traditional'] / n:.0%}",
        n=n, pii=c["pii_rows"], neg=c["no_pii_rows"], spans=c["spans"], multi=c["multi_span_rows"],
        nspan=", ".join(f"{k} span{'s' if k != 1 else ''}: {v}" for k, v in sorted(nspan.items())),
        type_table=table(["type", "spans", "rows", "asr", "chat", "clean", "simplified", "traditional"],
                         type_rows),
        ss_table=table(["style", "PII rows, simplified", "PII rows, traditional", "no-PII rows, simplified",
                        "no-PII rows, traditional", "all rows", "share"], ss_rows),
        sub_table=table(["type", "form", "spans"], sub_rows),
        spoken_table=table(["type", "spans in spoken form (Chinese digits; for email 艾特/at/点)", "all spans"], spoken_rows),
    )
    (OUT_DIR / "README.md").write_text(text, encoding="utf-8")


README = """# PII masking test set

`pii_testset.jsonl` holds {n} Chinese utterances from debt-collection calls, chats and SMS, with every
piece of personal data (PII) marked as a character span. It measures a masking function (such as
`inference.normalize.mask_pii`) on two things:

- **recall per PII type**: how many marked spans it masks;
- **over-masking**: how often it masks text that is not personal data. {neg} rows have no PII at all but
  are full of numbers a careless masker would hit (amounts, dates, overdue days, rates, instalment
  counts, card tails such as 尾号8842, already-masked numbers such as 138****6721, service hotlines).

It is a test set only. It is not training data, and it must not go into `data/splits/`. Those splits
carry a test that forbids unmasked numbers, and this file is full of them on purpose.

## Provenance: authored for this project, everything invented

An AI annotator-writer working for the collectguard project wrote the set in December 2026.
**No row comes from a real call, chat, message or person.**

- The frame of each utterance was written by hand, one frame per row. Examples: an agent reading
  back a customer's data, a debtor giving a callback number, a relative or colleague answering the
  phone, an SMS notice. The frames are in simplified and traditional Chinese, including Taiwan
  Mandarin and Hong Kong Cantonese.
- The PII values were filled into the frames by a seeded script (seed 20261207), which also computed
  the span offsets. The values come from random digits and letters in realistic formats:
  - mobile numbers use any 1[3-9]x prefix;
  - ID numbers are a region code plus an invented birth date and digits, with no valid checksum;
  - card numbers are a common BIN-style prefix plus random digits;
  - names are random surname and given-name pairs, matched to the gender that the honorific, relation
    word or pronoun implies;
  - addresses combine invented community, estate and village names with real city, district and
    road names and random building and room numbers;
  - any match with a real person's number or address is a coincidence.
- Email addresses use common provider domains or `example.*` with invented user names. Companies
  are placeholders (`XX金融`, `XX银行`, `XX資產`). The service hotlines are either public ones
  (12378, 12315) or invented 95xxx numbers.
- The script checked every row, and the checks passed: `text[start:end] == value`, spans do not
  overlap, types come from the list, no text appears twice, ASR rows have no punctuation outside the
  PII values, and no marked value (names aside, since a one-character surname can occur inside other
  words) occurs a second time unmarked in the same row. The script is not kept in the repository.

## Schema

One JSON object per line, UTF-8:

```json
{{"id": "pii-0001", "text": "...", "style": "clean|asr|chat", "script": "simplified|traditional",
 "spans": [{{"start": 0, "end": 11, "type": "phone", "value": "..."}}]}}
```

`start`/`end` are Python `str` indices (code points, end exclusive), and `text[start:end] == value`.
Spans are sorted by `start`. `spans` is `[]` for rows with no PII.

- `style`:
  - `asr`: speech-recognition style, with no punctuation, fillers (嗯, 那个, 就是) and numbers as
    spoken (一三九, 幺 for 1, 两 for 2, 洞 for 0, mixed digit and Chinese groups).
  - `chat`: chat or SMS from a debtor or third party.
  - `clean`: punctuated agent speech, SMS notices and records.
- `script`: `traditional` rows use Taiwan and Hong Kong formats as well as mainland ones: 0912-345-678,
  02-2345-6789, 9123 4567, +852, Taiwan ID A123456789, Hong Kong ID A123456(7), LINE ID, Taiwan
  plates ABC-1234 and Hong Kong plates AB 1234.

### Types and span boundaries

| type | what is marked | span covers |
|---|---|---|
| `phone` | a person's mobile or landline: 11-digit mobiles, +86/86, 3-4-4 groups with space or dash, landlines (010-xxxxxxxx, 0755 xxxxxxxx, (027)xxxxxxxx), Taiwan and Hong Kong numbers, spoken forms | the number from its first digit (or `+86`, `(852)`) to its last, including spaces and fillers inside a spoken number (`幺三九 嗯 幺二三四 五六七八`); not the label (手机号, 电话) |
| `id_number` | mainland 18-digit (final X/x, spaced 6-8-4 or 6-4-4-4, spoken with X as 叉/X/艾克斯), old 15-digit, Taiwan ID, Hong Kong ID | the whole number, including `(7)` for Hong Kong |
| `card` | full bank card numbers, 16-19 digits, plain, grouped by 4 with spaces or dashes, spoken | the whole number |
| `email` | email addresses, including ASR forms (`wangfang一九九零艾特163点com`, `... at qq点com`) | the whole address |
| `account_id` | WeChat ID, QQ number, Alipay account (a phone number or email **introduced as an Alipay account** counts here, not as phone or email), LINE ID, lending-app user ID, loan contract or loan number (HT2023110500123), bank or loan account number given as an account (账号/账户/帳戶) | the ID only, not the label (微信号, QQ号, 合同号) |
| `plate` | licence plates: mainland standard and new-energy (粤B·D12345), Taiwan, Hong Kong, spoken | the plate, including its `·` or space |
| `address` | detailed addresses: community (小区/花园/苑) + building (栋/幢/号楼/棟) + unit (单元) + room; road + number (with building or room if given, 弄 lanes); village (村) + group (组) (+ house number); Taiwan 路/段/巷/弄/號/樓; Hong Kong street number or estate (邨/苑) + block/floor/room | from the first place name given (city/district when it is there) to the finest unit (room, group, house number); a bare 小区 or 单位 is not marked |
| `name` | a person's name with an honorific or relation (张伟先生, 王女士, 陈生, 何太, 你老婆刘芳, 我哥王强) or a masked name (李**, 李*) | just the name: `王女士` → `王`, `陈生` → `陈`, `你老婆刘芳` → `刘芳`, `李**` → `李**`; the honorific and relation word are outside the span. Bare names without an honorific, relation or mask do not occur. |

The following are **not** PII and are never marked:

- card or phone tails (尾号8842, 尾號八八四二);
- already-masked numbers (138****6721, 0912-***-678, 6222 **** **** 8842, 3101**********2345);
- service hotlines (95xxx, 12378, 12315);
- amounts, dates, times, overdue days, rates, instalment and people counts;
- ticket numbers (工单号A2031);
- versions and page numbers.

## Counts

{n} rows: {pii} with PII and {neg} without. There are {spans} spans in all, and {multi} rows have 2 or
more spans ({nspan}).

### Spans per type, by style and script

{type_table}

"rows" counts the rows with at least one span of that type. The style and script columns count spans.

### Rows by style and script

{ss_table}

By script: {simp} simplified rows ({simp_pct}) and {trad} traditional rows ({trad_pct}).

### Forms within each type

{sub_table}

{spoken_table}

## Using it

For recall, count a span as masked when the masker's output replaces every character of `value`. A
looser score counts any overlap. For over-masking, count the no-PII rows the masker changes, and the
characters it replaces outside the spans in the PII rows. Report each score by type, style and script:
ASR spoken forms and the Taiwan and Hong Kong formats are where regex maskers fail.
"""


if __name__ == "__main__":
    main()
