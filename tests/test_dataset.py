"""The bundled dataset meets the targets it was written for, and the test split is frozen."""
import hashlib
import json
import re
from collections import Counter

import pytest

from collectguard.inference.labels import VIOLATIONS
from collectguard.inference.records import load_labelled
from collectguard.training.paths import SPLITS_DIR
from collectguard.training.splits import SPLIT_NAMES
from collectguard.training.validate import validate_files

FILES = [SPLITS_DIR / f"{name}.jsonl" for name in SPLIT_NAMES]


@pytest.fixture(scope="module")
def rows():
    return load_labelled(*FILES)


def test_splits_validate_without_errors_or_cross_split_near_duplicates():
    report = validate_files([str(f) for f in FILES])
    assert report.errors == []


def test_test_split_is_frozen():
    """Changing a split means updating SHA256SUMS and the data card's changelog together."""
    sums = dict(reversed(line.split()) for line in (SPLITS_DIR / "SHA256SUMS").read_text().splitlines())
    for path in FILES:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sums[path.name], path.name
    card = (SPLITS_DIR.parent / "README.md").read_text(encoding="utf-8")
    assert sums["test.jsonl"] in card


def test_size_and_label_targets(rows):
    counts = Counter(label for r in rows for label in r.labels)
    compliant = [r for r in rows if not r.labels]
    assert len(rows) >= 3000
    assert all(counts[v] >= 450 for v in VIOLATIONS), counts
    assert len(compliant) >= 1200
    assert sum("hard_negative" in r.note for r in compliant) >= 400
    for label in VIOLATIONS:
        assert sum(f"contrast:{label}" in r.note for r in compliant) >= 60, label
    assert sum(len(r.labels) >= 2 for r in rows) >= 0.12 * len(rows)


def test_style_script_and_length_targets(rows):
    n = len(rows)
    assert sum(r.script == "traditional" for r in rows) >= 0.15 * n
    assert sum(r.style == "asr" for r in rows) >= 0.25 * n
    assert sum(r.style == "chat" for r in rows) >= 0.15 * n
    assert all(2 <= len(r.text) <= 150 for r in rows)
    assert {r.speaker for r in rows} == {"agent", "customer", "third_party", "other"}


def test_split_sizes_are_about_70_15_15_and_stratified(rows):
    by_split = {name: load_labelled(SPLITS_DIR / f"{name}.jsonl") for name in SPLIT_NAMES}
    n = len(rows)
    assert abs(len(by_split["train"]) / n - 0.70) < 0.03
    for name in ("dev", "test"):
        assert abs(len(by_split[name]) / n - 0.15) < 0.03
        for label in VIOLATIONS:
            share = sum(label in r.labels for r in by_split[name]) / len(by_split[name])
            overall = sum(label in r.labels for r in rows) / n
            assert abs(share - overall) < 0.04, (name, label)


def test_no_unmasked_phone_id_or_card_numbers(rows):
    pattern = re.compile(r"1[3-9]\d{9}|\d{15,19}|\d{4} \d{4} \d{4} \d{4}")
    assert [r.id for r in rows if pattern.search(r.text)] == []


def test_v2_batches_cover_the_registers_and_tactics_they_were_written_for(rows):
    v2 = [r for r in rows if r.id.startswith(("cg-i", "cg-j"))]
    assert len(v2) >= 1200
    notes = Counter(tag for r in v2 for tag in r.note.split())
    assert notes["cantonese"] >= 250 and notes["taiwan"] >= 250
    for focus in ("veiled_threat", "implicit_privacy", "fake_settlement", "fabricated_liability", "hard_negative"):
        assert sum(focus in r.note for r in v2) >= 80, focus
    assert sum(not r.labels for r in v2) >= 0.3 * len(v2)  # compliant rows in the same registers


@pytest.fixture(scope="module")
def background():
    return load_labelled(*(SPLITS_DIR.parent / "background" / f"{name}.jsonl" for name in ("train", "dev")))


def test_background_negatives_are_compliant_real_text_with_a_source(background):
    from collectguard.training.background import SOURCES

    assert len(background) >= 20_000
    assert {r.source for r in background} == set(SOURCES)
    assert all(not r.labels and 2 <= len(r.text) for r in background)  # 4+ characters once normalised
    audits = [[json.loads(line) for line in (SPLITS_DIR.parent / "background" / f"audit_pass_{x}.jsonl").open()]
              for x in ("a", "b")]
    assert len(audits[0]) == len(audits[1]) >= 300  # two independent passes of the same sample
    assert [r["id"] for r in audits[0]] == [r["id"] for r in audits[1]]


def test_no_evaluation_text_is_in_any_training_or_threshold_input(rows, background):
    """By hash of the normalised text: the test split, ../shared/corpora/eval/ and COLD's test split
    never appear in train, dev (thresholds are tuned there) or the background negatives."""
    from collectguard.inference.normalize import normalize
    from collectguard.training.leakage import EvaluationTexts, default_evaluation_files

    files = default_evaluation_files()
    missing = [str(p) for p, _ in files if not p.is_file()]
    assert missing == [], f"evaluation files not found, so not checked: {missing}"
    evaluation = EvaluationTexts.load(files)
    learnt = [r for r in rows if not r.origin.startswith(str(SPLITS_DIR / "test.jsonl"))] + background
    leaks = [(r.origin, owner) for r in learnt if (owner := evaluation.owner(normalize(r.text)))]
    assert leaks == []
