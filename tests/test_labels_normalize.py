import pytest

from collectguard.inference.labels import (
    VIOLATIONS,
    combination_key,
    labels_from_text,
    labels_to_text,
    to_multi_hot,
    unknown_labels,
)
from collectguard.inference.normalize import NormalizationConfig, normalize
from collectguard.inference.pii import CARD, EMAIL, ID_NUMBER, PHONE, mask_pii


def test_multi_hot_round_trip_in_label_order():
    assert to_multi_hot(["privacy", "threat"]) == [1, 0, 0, 1]
    assert labels_to_text(["privacy", "threat"]) == "threat|privacy" and labels_to_text([]) == "compliant"
    assert labels_from_text("threat|privacy") == ["threat", "privacy"]
    assert labels_from_text("compliant") == labels_from_text("") == []
    assert combination_key(["privacy", "threat"]) == "threat+privacy"
    assert combination_key([]) == "compliant"
    assert unknown_labels(["threat", "compliant", "abuse"]) == ["compliant", "abuse"]
    assert VIOLATIONS == ("threat", "insult", "deception", "privacy")


def test_nfkc_whitespace_and_control_characters():
    assert normalize("ＡＢＣ１２３　你好\u200b\t 世界\x07") == "ABC123 你好 世界"


def test_traditional_to_simplified_is_optional():
    assert normalize("他說你欠債不還", NormalizationConfig(to_simplified=False)) == "他說你欠債不還"
    assert normalize("他說你欠債不還") == "他说你欠债不还"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("回电13812345678", f"回电{PHONE}"),
        ("号码138****6721", f"号码{PHONE}"),
        ("+86 139 1234 5678找我", f"{PHONE}找我"),
        ("座机0755-12345678", f"座机{PHONE}"),
        ("身份证110101199003071234", f"身份证{ID_NUMBER}"),
        ("身份证3101**********234X", f"身份证{ID_NUMBER}"),
        ("卡号6222 **** **** 8842", f"卡号{CARD}"),
        ("卡号6222021234567890123", f"卡号{CARD}"),
        ("发到zhang.san@example.com", f"发到{EMAIL}"),
        ("尾号8842的卡欠3000元", "尾号8842的卡欠3000元"),
    ],
)
def test_pii_masking(raw, expected):
    assert mask_pii(raw) == expected


def test_masking_can_be_switched_off():
    assert normalize("回电13812345678", NormalizationConfig(mask_pii=False)) == "回电13812345678"
