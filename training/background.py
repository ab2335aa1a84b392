"""``collectguard background``: real Chinese text as compliant training rows (background negatives).

Every labelled row of the project was written for it, so a model trained on them alone has never seen
ordinary Chinese and flags 10-20 % of it. This command samples utterance-sized texts from the real,
permissively licensed corpora in ``../shared/corpora/pretrain/`` (the ones its README allows as
negatives), labels them compliant *by assumption* (an audited sample says how far that holds: see
data/README.md), and writes them as labelled rows with a ``source`` field, apart from the authored
rows: ``data/background/train.jsonl`` and ``data/background/dev.jsonl`` (held out, for tuning
thresholds at a realistic base rate).

A text is kept when, after the classifier's normalisation, it is 4-150 characters long, is not a
duplicate, is no evaluation text (test split, ``corpora/eval/``, COLD's test split) and no authored row.
"""
from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from collectguard.inference.normalize import normalize
from collectguard.inference.records import load_labelled
from collectguard.inference.textio import write_atomic

from .leakage import EvaluationTexts, text_digest
from .paths import DATA_DIR, PRETRAIN_CORPORA_DIR
from .perturb import is_traditional

OUT_DIR = DATA_DIR / "background"
MIN_CHARS, MAX_CHARS = 4, 150


@dataclass(frozen=True)
class Source:
    speaker: str
    style: str
    what: str


# The corpora README allows these as negatives (lccc_sample after review: the audit found no violation).
SOURCES = {
    "atec_questions": Source("customer", "chat", "Alipay customer questions about 花呗/借呗 (ATEC 2018, Apache-2.0)"),
    "kdconv": Source("other", "chat", "crowd-written chit-chat about films, music, travel (KdConv, Apache-2.0)"),
    "crosswoz": Source("other", "chat", "crowd-written task dialogues (CrossWOZ, Apache-2.0)"),
    "medical_dialogue": Source("other", "chat", "online medical consultations (Chinese-medical-dialogue-data, MIT)"),
    "lccc_sample": Source("other", "chat", "social-media dialogue (LCCC via CDial-GPT, MIT)"),
    "laws": Source("other", "mention", "PRC laws and judicial texts (LawRefBook; official texts)"),
}


def candidates(name: str, blocked: set[bytes], evaluation: EvaluationTexts) -> list[tuple[int, str]]:
    """``(line, text)`` of the usable texts of one corpus file, first occurrence of each."""
    kept = []
    with open(PRETRAIN_CORPORA_DIR / f"{name}.txt", encoding="utf-8") as handle:
        for line, raw in enumerate(handle, start=1):
            text = raw.strip()
            normalised = normalize(text)
            digest = text_digest(normalised)
            if not MIN_CHARS <= len(normalised) <= MAX_CHARS or digest in blocked or evaluation.owner(normalised):
                continue
            blocked.add(digest)
            kept.append((line, text))
    return kept


def background_rows(per_source: int, seed: int) -> dict[str, list[dict]]:
    """Up to ``per_source`` sampled rows of each source (``{source: rows}``, in sampling order)."""
    authored = load_labelled(*sorted((DATA_DIR / "splits").glob("*.jsonl")))
    blocked = {text_digest(normalize(r.text)) for r in authored}
    evaluation = EvaluationTexts.load()
    rows = {}
    for name, source in SOURCES.items():
        pool = candidates(name, blocked, evaluation)
        chosen = random.Random(f"{seed}-{name}").sample(pool, min(per_source, len(pool)))
        rows[name] = [{"id": f"bg-{name}-{line}", "text": text, "labels": [], "speaker": source.speaker,
                       "style": source.style, "script": "traditional" if is_traditional(text) else "simplified",
                       "source": name, "note": "background negative: compliant by assumption"}
                      for line, text in chosen]
    return rows


def split_rows(rows: dict[str, list[dict]], dev_share: float) -> dict[str, list[dict]]:
    """The first ``dev_share`` of each source's sample is held out as dev, the rest is train."""
    out = {"train": [], "dev": []}
    for sample in rows.values():
        cut = round(len(sample) * dev_share)
        out["dev"] += sample[:cut]
        out["train"] += sample[cut:]
    return out


def write_rows(splits: dict[str, list[dict]], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in splits.items():
        write_atomic(out_dir / f"{name}.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collectguard background", description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-source", type=int, default=5000, help="texts sampled per corpus (default 5000)")
    parser.add_argument("--dev-share", type=float, default=0.2, help="share of each sample held out as dev")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder for train.jsonl and dev.jsonl")
    args = parser.parse_args(argv)
    if args.per_source < 1 or not 0 <= args.dev_share < 1:
        parser.error("--per-source must be >= 1 and --dev-share in [0, 1)")
    rows = background_rows(args.per_source, args.seed)
    splits = split_rows(rows, args.dev_share)
    write_rows(splits, args.out)
    print(f"wrote {args.out}: train {len(splits['train'])}, dev {len(splits['dev'])} rows; per source: "
          + ", ".join(f"{name} {len(sample)}" for name, sample in rows.items()))
    return 0
