"""PII masking (inference/pii.py), its measurement (training/pii_eval.py) and the one masking policy."""
import json
import shutil

import pandas as pd
import pytest

from collectguard.cli import main
from collectguard.inference.classifier import Classifier
from collectguard.inference.modeldir import METADATA_FILE, ModelDirectoryError
from collectguard.inference.normalize import NormalizationConfig, normalize
from collectguard.inference.pii import (
    ACCOUNT,
    ADDRESS,
    CARD,
    EMAIL,
    ID_NUMBER,
    NAME,
    PHONE,
    PLATE,
    mask_pii,
)
from collectguard.training.evaluate import error_rows
from collectguard.training.pii_eval import (
    PiiTestSetError,
    Row,
    Span,
    failed_targets,
    load_testset,
    masked_regions,
    measure,
)

from .conftest import FIXTURES


@pytest.mark.parametrize("raw, expected", [  # the examples of the issue
    ("我的电话是一三九一二三四五六七八", f"我的电话是{PHONE}"),
    ("我的电话 幺三九 幺二三四 五六七八", f"我的电话 {PHONE}"),
    ("卡号6222 0212 3456 7890 123", f"卡号{CARD}"),
    ("你住幸福小区三栋二单元五零一", f"你住{ADDRESS}"),
    ("微信号 zs_1990", f"微信号 {ACCOUNT}"),
])
def test_what_speech_recognition_writes_is_masked(raw, expected):
    assert mask_pii(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("回个电话 幺五两 洞洞七八 嗯 九九幺两 好吧", f"回个电话 {PHONE} 好吧"),
    ("手机 138 七六五四 3210 记一下", f"手机 {PHONE} 记一下"),
    ("座机(021)6543-2109转人工", f"座机{PHONE}转人工"),
    ("WhatsApp +852 6123 4567", f"WhatsApp {PHONE}"),
    ("打 6123 4567 搵我", f"打 {PHONE} 搵我"),
    ("身份证 四四零三零五 一九八八一二三一 零零一叉 没错", f"身份证 {ID_NUMBER} 没错"),
    ("證件號Z987654(3)", f"證件號{ID_NUMBER}"),
    ("身分證B223344556", f"身分證{ID_NUMBER}"),
    ("卡号 6217-0000-1111-2222-333 到账", f"卡号 {CARD} 到账"),
    ("邮箱 li下划线ming八八艾特163点com", f"邮箱 {EMAIL}"),
    ("发到 chen.w@corp.example.cn 吧", f"发到 {EMAIL} 吧"),
    ("支付宝就是我手机 13512345678", f"支付宝就是我手机 {ACCOUNT}"),
    ("我QQ 八八六六五五四 你加", f"我QQ {ACCOUNT} 你加"),
    ("合同编号 QX20231101008 没错", f"合同编号 {ACCOUNT} 没错"),
    ("车牌 浙A·D12345 停在门口", f"车牌 {PLATE} 停在门口"),
    ("他的車是ABC-5678", f"他的車是{PLATE}"),
    ("寄到南京市玄武区北京东路一百号三楼", f"寄到{ADDRESS}"),
    ("他老家在周口市郸城县石槽镇刘楼村二组", f"他老家在{ADDRESS}"),
    ("我住碧水蓝湾小区8幢2单元1101", f"我住{ADDRESS}"),
    ("請問是周美玲小姐嗎", f"請問是{NAME}小姐嗎"),
    ("我老婆孙丽 她不知道", f"我老婆{NAME} 她不知道"),
    ("你是徐建国的儿子吧", f"你是{NAME}的儿子吧"),
    ("持卡人冯**，请核对", f"持卡人{NAME}，请核对"),
    ("喂 黄生 你好", f"喂 {NAME}生 你好"),
])
def test_typed_placeholders_for_every_kind(raw, expected):
    assert mask_pii(raw) == expected


@pytest.mark.parametrize("text", [
    "您尾号8842的卡本期扣款失败，应还12,860.50元",
    "尾號八八四二那張卡不要扣了",
    "可拨打客服热线95137或投诉热线12378",
    "那个 一万零五百 是本金 年化百分之二十四",
    "截至2024年6月30日逾期87天，每期手续费率0.6%，分12期",
    "你们说的那个工单号A2031，APP版本3.2.1",
    "我在公司17楼上班，晚上8点以后再说",
    "你们三栋那个姓胡的欠钱",
    "垃圾人，信不信我让你全家不得安生？",
    "谢谢先生，我妈明天还，我哥方便的时候再说",
    "我们家四口人 我一九九八年就出来打工了",
])
def test_numbers_and_words_that_are_not_personal_data_stay(text):
    assert mask_pii(text) == text


def test_already_masked_numbers_are_masked_too():
    assert mask_pii("手机号138****6721，卡6222 **** **** 8842") == f"手机号{PHONE}，卡{CARD}"


def test_bad_input_is_a_clear_error():
    with pytest.raises(TypeError, match="expects a str"):
        mask_pii(None)


def test_the_targets_hold_on_the_pii_test_set():
    result = measure(load_testset(), mask_pii)
    assert failed_targets(result) == []
    assert result["rows"] == 472 and result["no_pii_rows"] == 112
    assert sum(r["spans"] for r in result["recall"].values()) == 498


def test_version_1_masker_misses_the_targets_the_measurement_catches_it():
    from collectguard.inference.normalize import PII_MASKERS

    failed = failed_targets(measure(load_testset(), PII_MASKERS[1]))
    assert any(line.startswith("phone recall") for line in failed)


def test_masked_regions_align_output_with_input():
    text = "电话13812345678，我叫王女士的电话"
    assert masked_regions(text, f"电话{PHONE}，我叫{NAME}女士的电话") == [(2, 13, PHONE), (16, 17, NAME)]
    with pytest.raises(ValueError, match="outside its placeholders"):
        masked_regions(text, f"电话{PHONE}，我叫女士")


def test_recall_counts_letters_and_digits_and_overmasking_spares_masked_numbers():
    rows = [Row("a", "打138-1234-5678", "clean", "simplified", (Span(1, 14, "phone"),)),
            Row("b", "打139-1234-5678", "clean", "simplified", (Span(1, 14, "phone"),)),
            Row("c", "号码138****6721", "clean", "simplified", ()),
            Row("d", "欠12000元", "clean", "simplified", ())]
    fake = {"打138-1234-5678": f"打{PHONE}", "打139-1234-5678": f"打{PHONE}-5678",
            "号码138****6721": f"号码{PHONE}", "欠12000元": f"欠{ACCOUNT}元"}
    result = measure(rows, fake.get)
    assert result["recall"]["phone"]["recall"] == 0.5  # a surviving digit group is a miss
    assert result["over_masking"] == 0.5 and result["over_masking_strict"] == 1.0


def test_a_broken_test_set_file_is_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"id": "x", "text": "电话123", "style": "clean", "script": "simplified",
                                "spans": [{"start": 0, "end": 2, "type": "phone", "value": "123"}]}) + "\n",
                    encoding="utf-8")
    with pytest.raises(PiiTestSetError, match=r"bad.jsonl:1: span 0-2 is not its value"):
        load_testset(path)


def test_pii_eval_command_prints_recall_and_meets_the_targets(capsys):
    assert main(["pii-eval"]) == 0
    out = capsys.readouterr().out
    assert "| phone | 84 |" in out and "over-masking: 0.000 of 112" in out


def test_normalisation_version_1_stays_reachable():
    spoken = "我的电话 幺三九 幺二三四 五六七八"
    assert normalize(spoken, NormalizationConfig(version=1)) == spoken
    assert normalize(spoken) == f"我的电话 {PHONE}"
    with pytest.raises(ValueError, match="version 3"):
        NormalizationConfig(version=3)


def test_old_model_directories_keep_version_1(baseline_model, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(baseline_model[0], old)
    metadata = json.loads((old / METADATA_FILE).read_text(encoding="utf-8"))
    assert metadata["normalization"]["version"] == 2
    del metadata["normalization"]["version"]
    (old / METADATA_FILE).write_text(json.dumps(metadata), encoding="utf-8")
    assert Classifier.from_pretrained(old).metadata.normalization.version == 1
    metadata["normalization"]["version"] = 3
    (old / METADATA_FILE).write_text(json.dumps(metadata), encoding="utf-8")
    with pytest.raises(ModelDirectoryError, match="version 3"):
        Classifier.from_pretrained(old)


def test_error_lists_are_masked_unless_no_mask():
    frame = pd.DataFrame({"id": ["r1"], "text": ["打我电话13812345678"], "style": ["chat"], "script": ["simplified"],
                          "speaker": ["customer"], "length": [15]})
    truth, decisions, probs = [[1, 0, 0, 0]], [[0, 0, 0, 0]], pd.DataFrame([[0.1] * 4]).to_numpy()
    masked = error_rows(frame, truth, probs, decisions)
    assert masked.loc[0, "text"] == f"打我电话{PHONE}" and masked.loc[0, "pii_masking"] == "v2"
    raw = error_rows(frame, truth, probs, decisions, mask=False)
    assert raw.loc[0, "text"] == "打我电话13812345678" and raw.loc[0, "pii_masking"] == "off"


def test_evaluate_no_mask_is_recorded(baseline_model, tmp_path):
    out = tmp_path / "report"
    assert main(["evaluate", "--model", str(baseline_model[0]), "--data", str(FIXTURES / "mini_test.jsonl"),
                 "--out", str(out), "--bootstrap", "5", "--no-mask"]) == 0
    assert json.loads((out / "metrics.json").read_text(encoding="utf-8"))["pii_masking"] == "off"
    assert set(pd.read_csv(out / "errors.csv")["pii_masking"]) == {"off"}
    assert "not masked (--no-mask" in (out / "report.md").read_text(encoding="utf-8")
