"""The pretraining corpus: files read as streams with Hugging Face ``datasets``, normalised like the
classifier's input, deduplicated, checked against the evaluation texts, sampled by per-source
weights, split into a training and a held-out part, tokenised and packed into fixed-length blocks.

The result is two ``datasets`` folders under the run directory, built once: ``--resume`` reads them
back, so the data (and its position) is exactly the same after an interruption.
"""
from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from collectguard.inference.normalize import NormalizationConfig, normalize
from collectguard.inference.textio import resolve_encoding, sha256_of

from .leakage import EvaluationTexts, text_digest

logger = logging.getLogger(__name__)
BUILDERS = {".txt": "text", ".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
TEXTS_PER_WRITE = 10_000


class CorpusError(ValueError):
    """A corpus file or setting that cannot be used; the message names the file or option."""


@dataclass(frozen=True)
class CorpusSource:
    """A file or folder and the share of its texts to keep (1: all; 0.3: a deterministic 30 %)."""

    path: str
    weight: float = 1.0

    @classmethod
    def parse(cls, spec: str) -> CorpusSource:
        """``PATH`` or ``PATH:WEIGHT`` (a weight in (0, 1])."""
        path, _, weight = spec.rpartition(":")
        try:
            value = float(weight) if path else 1.0
        except ValueError:
            path, value = spec, 1.0
        path = path or spec
        if not 0 < value <= 1:
            raise CorpusError(f"--corpus {spec}: the weight must be in (0, 1], got {value}")
        if not Path(path).exists():
            raise CorpusError(f"--corpus {spec}: no such file or folder {path}")
        return cls(path, value)


@dataclass
class SourceStats:
    path: str
    sha256: str
    weight: float
    texts: int = 0
    empty: int = 0
    evaluation_texts: int = 0
    duplicates: int = 0
    sampled_out: int = 0
    kept: int = 0
    held_out: int = 0
    kept_chars: int = 0


@dataclass
class CorpusSettings:
    sources: list[CorpusSource]
    text_column: str = "text"
    block_length: int = 128
    held_out: float = 0.02
    whole_word_mask: bool = False
    mlm_probability: float = 0.15
    seed: int = 13
    drop_evaluation_texts: bool = False
    normalization: NormalizationConfig = field(default_factory=NormalizationConfig)

    def to_dict(self) -> dict:
        return asdict(self)


def corpus_files(path: Path) -> list[Path]:
    """The readable files of a file or folder (recursively, sorted)."""
    if path.is_file():
        if path.suffix.lower() not in BUILDERS:
            raise CorpusError(f"{path}: unsupported corpus file type; use one of {', '.join(BUILDERS)}")
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in BUILDERS)
    if not files:
        raise CorpusError(f"{path}: no corpus files ({', '.join(BUILDERS)}) in this folder")
    return files


def read_texts(path: Path, text_column: str):
    """``(where, text)`` for each record of ``path``, streamed; ``where`` is ``file:line`` or ``file, row N``."""
    from datasets import load_dataset

    builder = BUILDERS[path.suffix.lower()]
    options = {"encoding": resolve_encoding(path, None)} if builder in ("text", "csv") else {}
    stream = load_dataset(builder, data_files=str(path), split="train", streaming=True, **options)
    column = "text" if builder == "text" else text_column
    for index, record in enumerate(stream):
        if column not in record:
            raise CorpusError(f"{path}: no column {column!r} (columns: {', '.join(record)}); pass --text-column")
        where = f"{path}:{index + 1}" if builder in ("text", "json") else f"{path}, row {index + 1}"
        yield where, record[column]


def _unit(digest: bytes) -> float:
    """A number in [0, 1) from 8 hash bytes: the same text always gets the same number."""
    return int.from_bytes(digest[:8], "big") / 2**64


def collect_texts(settings: CorpusSettings, evaluation: EvaluationTexts, out_file: Path) -> list[SourceStats]:
    """Write the kept texts (normalised, unique, no evaluation text) with their ``held_out`` flag to
    ``out_file`` (Parquet, written in parts) and return per-file statistics."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("text", pa.string()), ("held_out", pa.bool_())])
    seen: set[bytes] = set()
    stats: list[SourceStats] = []
    pending: list[tuple[str, bool]] = []
    with pq.ParquetWriter(out_file, schema) as writer:
        for source in settings.sources:
            for path in corpus_files(Path(source.path)):
                file_stats = SourceStats(str(path), sha256_of(path), source.weight)
                stats.append(file_stats)
                for where, text in read_texts(path, settings.text_column):
                    file_stats.texts += 1
                    normalised = normalize(text, settings.normalization) if isinstance(text, str) else ""
                    if not normalised:
                        file_stats.empty += 1
                        continue
                    if settings.drop_evaluation_texts and evaluation.owner(normalised):
                        file_stats.evaluation_texts += 1
                        continue
                    evaluation.check(normalised, where, "remove it, or pass --drop-evaluation-texts to leave out "
                                     "every evaluation text (they are counted in the model card)")
                    digest = text_digest(normalised)
                    if digest in seen:
                        file_stats.duplicates += 1
                        continue
                    seen.add(digest)
                    if _unit(digest) >= source.weight:
                        file_stats.sampled_out += 1
                        continue
                    held_out = _unit(digest[8:]) < settings.held_out
                    file_stats.kept += 1
                    file_stats.held_out += held_out
                    file_stats.kept_chars += len(normalised)
                    pending.append((normalised, held_out))
                    if len(pending) >= TEXTS_PER_WRITE:
                        writer.write_table(pa.table(list(zip(*pending, strict=True)), schema=schema))
                        pending.clear()
                logger.info("corpus %s: %d texts, %d kept (%d held out), %d duplicates, %d sampled out, %d empty, "
                            "%d evaluation texts left out", path, file_stats.texts, file_stats.kept,
                            file_stats.held_out, file_stats.duplicates, file_stats.sampled_out, file_stats.empty,
                            file_stats.evaluation_texts)
        if pending:
            writer.write_table(pa.table(list(zip(*pending, strict=True)), schema=schema))
    return stats


def word_starts(text: str) -> set[int]:
    """Character offsets where a word starts, by the jieba segmenter (rjieba)."""
    import rjieba

    starts, position = set(), 0
    for word in rjieba.cut(text):
        starts.add(position)
        position += len(word)
    return starts


def _packer(tokenizer, block_length: int, whole_word: bool):
    """A batched ``datasets.map`` function: texts joined by ``[SEP]`` and cut into blocks of
    ``[CLS] ... [SEP]``. With ``whole_word``, each block also gets an ``offset_mapping`` in which a gap
    separates words, which is how ``DataCollatorForLanguageModeling(whole_word_mask=True)`` finds them."""
    cls_id, sep_id, body = tokenizer.cls_token_id, tokenizer.sep_token_id, block_length - 2

    def pack(batch):
        encoded = tokenizer(batch["text"], add_special_tokens=False, return_offsets_mapping=whole_word)
        ids, new_word = [], []
        for index, token_ids in enumerate(encoded["input_ids"]):
            ids += [*token_ids, sep_id]
            if whole_word:
                starts = word_starts(batch["text"][index])
                new_word += [start in starts for start, _ in encoded["offset_mapping"][index]] + [True]
        blocks = {"input_ids": [], "special_tokens_mask": []}
        if whole_word:
            blocks["offset_mapping"] = []
        for start in range(0, len(ids) - body + 1, body):
            piece = ids[start : start + body]
            blocks["input_ids"].append([cls_id, *piece, sep_id])
            blocks["special_tokens_mask"].append([1, *(int(t == sep_id) for t in piece), 1])
            if whole_word:
                blocks["offset_mapping"].append(_word_offsets(new_word[start : start + body]))
        return blocks

    return pack


def _word_offsets(new_word: list[bool]) -> list[list[int]]:
    """Made-up character offsets for ``[CLS] tokens [SEP]``: consecutive within a word, a gap before a
    new word (special tokens get ``[0, 0]``; the collator never masks them)."""
    offsets, position = [[0, 0]], 0
    for starts_word in new_word:
        position += starts_word
        offsets.append([position, position + 1])
        position += 1
    return [*offsets, [0, 0]]


def _fixed_masks(tokenizer, probability: float, seed: int):
    """A batched map function that masks held-out blocks once, with a seeded generator, so that the
    held-out loss of every step and of every run is measured on the same masks."""
    from transformers import DataCollatorForLanguageModeling

    masking = DataCollatorForLanguageModeling(tokenizer, mlm_probability=probability, seed=seed)

    def mask(batch):
        examples = [{"input_ids": i, "special_tokens_mask": s}
                    for i, s in zip(batch["input_ids"], batch["special_tokens_mask"], strict=True)]
        masked = masking(examples)
        return {"input_ids": masked["input_ids"].tolist(), "labels": masked["labels"].tolist()}

    return mask


def build_corpus(settings: CorpusSettings, tokenizer, evaluation: EvaluationTexts, corpus_dir: Path) -> dict:
    """Build ``corpus_dir/train`` and ``corpus_dir/held_out`` (``datasets`` folders) and return the
    manifest (settings, per-file statistics, block and token counts), also written as ``manifest.json``."""
    from datasets import Dataset

    corpus_dir.mkdir(parents=True, exist_ok=True)
    texts_file, cache = corpus_dir / "texts.parquet", corpus_dir / "cache"
    stats = collect_texts(settings, evaluation, texts_file)
    texts = Dataset.from_parquet(str(texts_file), cache_dir=str(cache))
    if len(texts) == 0:
        raise CorpusError("the corpus has no texts left after normalisation, deduplication and sampling")
    pack = _packer(tokenizer, settings.block_length, settings.whole_word_mask)
    parts = {}
    for name, held_out in (("train", False), ("held_out", True)):
        part = texts.filter(lambda flags, held_out=held_out: [f == held_out for f in flags],
                            input_columns="held_out", batched=True)
        part = part.map(pack, batched=True, batch_size=1000, remove_columns=part.column_names)
        if held_out:
            part = part.remove_columns([c for c in part.column_names if c == "offset_mapping"])
            part = part.map(_fixed_masks(tokenizer, settings.mlm_probability, settings.seed), batched=True,
                            batch_size=256, remove_columns=["special_tokens_mask"])
        if len(part) == 0:
            raise CorpusError(f"the {name} part of the corpus fills no block of {settings.block_length} tokens; "
                              "add text" + (" or raise --held-out" if held_out else ""))
        part.save_to_disk(str(corpus_dir / name))
        parts[name] = len(part)
    shutil.rmtree(cache, ignore_errors=True)
    texts_file.unlink()
    manifest = {"settings": settings.to_dict(), "files": [asdict(s) for s in stats],
                "blocks": parts, "tokens": {k: v * settings.block_length for k, v in parts.items()}}
    (corpus_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


def load_corpus(corpus_dir: Path, settings: CorpusSettings):
    """``(train, held_out, manifest)`` of a corpus built earlier with the same settings."""
    from datasets import load_from_disk

    manifest_path = corpus_dir / "manifest.json"
    if not manifest_path.is_file():
        raise CorpusError(f"{corpus_dir}: no manifest.json; the corpus was not finished, start without --resume")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    current = json.loads(json.dumps(settings.to_dict()))
    if manifest["settings"] != current:
        changed = sorted(k for k in current if manifest["settings"].get(k) != current[k])
        raise CorpusError(f"--resume: the corpus options differ from the run's ({', '.join(changed)}); "
                          "resume with the same options or start a new --out")
    return load_from_disk(str(corpus_dir / "train")), load_from_disk(str(corpus_dir / "held_out")), manifest
