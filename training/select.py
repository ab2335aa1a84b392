"""``collectguard select --model DIR --scores SCORED... --n N --strategy STRATEGY --out FILE``: the next
annotation batch, chosen from scored utterances (``collectguard score`` output).

Strategies:

- ``uncertainty``: the rows whose probability is closest to a label's decision threshold, measured in
  log-odds (``|logit(p) - logit(threshold)|``, the smallest over the four labels), so that 0.02 from a
  0.05 threshold counts as far as 0.3 from a 0.5 one;
- ``diverse``: the ``POOL_FACTOR * N`` most uncertain rows clustered into N groups (k-means on character
  n-gram TF-IDF reduced by SVD), and the most uncertain row of each group, so a batch does not spend
  itself on 200 rewordings of one uncertain phrase;
- ``per-label``: the rows closest to each label's threshold in turn (threat, insult, deception,
  privacy, threat, ...), so rare labels get their share;
- ``random``: a uniform sample (the control, and the unbiased sample for measuring a model).

Every strategy skips rows that are near-duplicates (character-trigram Jaccard >= 0.6, as in
``collectguard validate``) of rows already labelled or of a row it chose before, and says why it
chose each row (``reason``).
"""
from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import logit

from collectguard.inference.classifier import OK, PROB_COLUMNS
from collectguard.inference.labels import VIOLATIONS
from collectguard.inference.modeldir import read_thresholds
from collectguard.inference.records import load_labelled
from collectguard.inference.tables import OUTPUT_FORMATS, TableError, read_table, table_format, write_table

from .neardup import NEAR_DUPLICATE_JACCARD, near_duplicate_pairs

logger = logging.getLogger(__name__)
STRATEGIES = ("uncertainty", "diverse", "per-label", "random")
POOL_FACTOR = 5  # candidates per chosen row that de-duplication and clustering look at
EPSILON = 1e-6


class SelectionError(ValueError):
    """Scored input or options that selection cannot use; the message names the file or option."""


def log_odds_margins(probs: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """(n, 4): each label's distance from its decision threshold in log-odds."""
    clip = lambda x: np.clip(np.asarray(x, dtype=float), EPSILON, 1 - EPSILON)  # noqa: E731
    return np.abs(logit(clip(probs)) - logit(clip(thresholds)))


def select_rows(frame: pd.DataFrame, thresholds: Sequence[float], n: int, strategy: str,
                labelled_texts: Sequence[str] = (), seed: int = 13, text_col: str = "text") -> pd.DataFrame:
    """The ``n`` rows of ``frame`` (one per scored utterance, with ``prob_<label>`` columns) chosen by
    ``strategy``, in order of choice, with ``rank``, ``strategy``, ``label`` (the threshold the row is
    near: the nearest one, or whose turn it was for ``per-label``), ``margin`` (log-odds from it) and
    ``reason`` added."""
    if strategy not in STRATEGIES:
        raise SelectionError(f"--strategy {strategy!r} is not one of {', '.join(STRATEGIES)}")
    if n < 1:
        raise SelectionError(f"--n must be at least 1, got {n}")
    thresholds = np.asarray(thresholds, dtype=float)
    frame = frame.reset_index(drop=True)
    margins = log_odds_margins(frame[PROB_COLUMNS].to_numpy(dtype=float), thresholds)
    label_of = margins.argmin(axis=1)
    if strategy == "random":
        order = np.random.default_rng(seed).permutation(len(frame))
    elif strategy == "per-label":
        order, turns = _round_robin([np.argsort(margins[:, k], kind="stable") for k in range(len(VIOLATIONS))])
        label_of[order] = turns
    else:
        order = np.argsort(margins.min(axis=1), kind="stable")
    texts = frame[text_col].astype(str).tolist()
    pool = _without_near_duplicates(texts, order, labelled_texts, POOL_FACTOR * n if strategy == "diverse" else n)
    if strategy == "diverse":
        chosen, notes = _most_uncertain_per_cluster(texts, pool, margins.min(axis=1), n, seed)
    else:
        chosen, notes = pool[:n], [""] * min(n, len(pool))
    logger.info("%s: %d of %d scored rows chosen (%d candidates left after skipping near-duplicates)", strategy,
                len(chosen), len(frame), len(pool))
    out = frame.iloc[chosen].reset_index(drop=True)
    labels = label_of[chosen]
    out.insert(0, "rank", range(1, len(out) + 1))
    out["strategy"] = strategy
    out["label"] = [VIOLATIONS[k] for k in labels]
    out["margin"] = margins[chosen, labels].round(3) if chosen else []
    out["reason"] = [_reason(strategy, frame.loc[i, PROB_COLUMNS[k]], thresholds[k], VIOLATIONS[k], margins[i, k], note)
                     for i, k, note in zip(chosen, labels, notes, strict=True)]
    return out


def _round_robin(orders: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Row indices taking the next row of each label's order in turn, each row once, and the label
    (index) in whose turn each was taken."""
    seen, rows, turns = set(), [], []
    for step in range(len(orders[0])):
        for label, order in enumerate(orders):
            if (row := int(order[step])) not in seen:
                seen.add(row)
                rows.append(row)
                turns.append(label)
    return np.array(rows, dtype=int), np.array(turns, dtype=int)


def _without_near_duplicates(texts: list[str], order: np.ndarray, labelled_texts: Sequence[str],
                             wanted: int) -> list[int]:
    """The first ``wanted`` rows of ``order`` that are no near-duplicate of a labelled text or of an
    earlier row of the result. Candidates are checked in blocks, so a pool of millions of scored rows
    is compared only as far as needed."""
    kept: list[int] = []
    start, block = 0, max(2 * wanted, 1000)
    while len(kept) < wanted and start < len(order):
        candidates = [int(i) for i in order[start:start + block]]
        start += block
        reference = [*labelled_texts, *(texts[i] for i in kept)]
        blocked = {i for i, _, _ in near_duplicate_pairs([texts[c] for c in candidates], reference,
                                                         NEAR_DUPLICATE_JACCARD)} if reference else set()
        earlier: dict[int, set[int]] = {}  # position -> earlier positions of the block it nearly repeats
        for i, j, _ in near_duplicate_pairs([texts[c] for c in candidates]):
            earlier.setdefault(j, set()).add(i)
        taken: set[int] = set()
        for position, row in enumerate(candidates):
            if position in blocked or earlier.get(position, set()) & taken:
                continue
            taken.add(position)
            kept.append(row)
            if len(kept) == wanted:
                break
    return kept


def _most_uncertain_per_cluster(texts: list[str], pool: list[int], uncertainty: np.ndarray, n: int,
                                seed: int) -> tuple[list[int], list[str]]:
    """Cluster ``pool`` into ``n`` groups on character n-gram TF-IDF (SVD to at most 100 dimensions,
    unit length) and take the most uncertain row of each group, most uncertain groups first."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    if len(pool) <= n:
        return pool, [""] * len(pool)
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    features = vectorizer.fit_transform([texts[i] for i in pool])
    dimensions = min(100, features.shape[1] - 1, len(pool) - 1)
    if dimensions >= 2:
        features = normalize(TruncatedSVD(dimensions, random_state=seed).fit_transform(features))
    clusters = KMeans(n_clusters=n, n_init=1, random_state=seed).fit_predict(features)
    best: dict[int, int] = {}
    for position, cluster in enumerate(clusters):  # pool is in order of uncertainty: the first one wins
        best.setdefault(int(cluster), position)
    ranked = sorted(best.items(), key=lambda item: uncertainty[pool[item[1]]])
    sizes = np.bincount(clusters, minlength=n)
    return ([pool[position] for _, position in ranked],
            [f"; most uncertain of cluster {cluster} ({sizes[cluster]} candidates)" for cluster, _ in ranked])


def _reason(strategy: str, prob: float, threshold: float, label: str, margin: float, note: str) -> str:
    where = f"prob_{label} {prob:.3f} vs threshold {threshold:.3f} ({margin:.2f} log-odds apart)"
    if strategy == "random":
        return f"random sample; nearest threshold: {where}"
    if strategy == "per-label":
        return f"{label}'s turn: among the rows closest to the {label} threshold: {where}"
    return f"closest to a threshold: {where}{note}"


def read_scores(paths: Sequence[str | Path], text_col: str, id_col: str) -> pd.DataFrame:
    """The scored rows of ``paths`` with status ``ok`` (all of them without a status column), with an
    ``id`` (``--id-col``, or ``FILE:ROW`` when the file has no such column) and ``scored_file``."""
    frames = []
    for path in map(Path, paths):
        frame = read_table(path)
        missing = [c for c in (text_col, *PROB_COLUMNS) if c not in frame.columns]
        if missing:
            raise SelectionError(f"--scores {path}: no column(s) {missing}; expected the output of collectguard score")
        numbers = frame[PROB_COLUMNS].apply(pd.to_numeric, errors="coerce")  # CSV cells are text
        bad = numbers.isna() & frame[PROB_COLUMNS].notna() & (frame[PROB_COLUMNS].astype(str) != "")
        if bad.to_numpy().any():
            row, column = np.argwhere(bad.to_numpy())[0]
            raise SelectionError(f"--scores {path}: row {row + 1}: {PROB_COLUMNS[column]} "
                                 f"{frame.iloc[row][PROB_COLUMNS[column]]!r} is not a number")
        frame[PROB_COLUMNS] = numbers
        ids = (frame[id_col].astype(str) if id_col in frame.columns
               else [f"{path.name}:{row}" for row in range(1, len(frame) + 1)])
        frame = frame.drop(columns="id", errors="ignore")
        frame.insert(0, "id", ids)
        if "status" in frame.columns:
            frame = frame[frame["status"] == OK]
        frame = frame[frame[PROB_COLUMNS].notna().all(axis=1) & frame[text_col].notna()]
        frames.append(frame.assign(scored_file=str(path)))
    scores = pd.concat(frames, ignore_index=True)
    repeated = scores["id"][scores["id"].duplicated()].unique().tolist()
    if repeated:
        raise SelectionError(f"--scores: id(s) {repeated[:5]} occur more than once; give each row a unique "
                             f"--id-col")
    return scores


def labelled_files_of(model_dir: Path) -> list[Path]:
    """The data files a model was trained, tuned and tested on (its ``data_hashes.json``) that exist here."""
    import json

    path = model_dir / "data_hashes.json"
    if not path.is_file():
        return []
    recorded = json.loads(path.read_text(encoding="utf-8"))
    return [Path(f["path"]) for files in recorded.values() for f in files if Path(f["path"]).is_file()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collectguard select", description=__doc__.split("\n\n")[0],
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, type=Path, help="the model directory that scored the rows")
    parser.add_argument("--scores", required=True, nargs="+", type=Path, help="scored .parquet/.csv/.jsonl files")
    parser.add_argument("--n", required=True, type=int, help="rows to select")
    parser.add_argument("--strategy", required=True, choices=STRATEGIES)
    parser.add_argument("--out", required=True, type=Path, help="selected rows (.jsonl, .csv or .parquet)")
    parser.add_argument("--labelled", nargs="*", type=Path,
                        help="labelled files whose near-duplicates are skipped (default: the model's data files)")
    parser.add_argument("--text-col", default="text")
    parser.add_argument("--id-col", default="id", help="row id column (default: id; FILE:ROW when absent)")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    kind = table_format(args.out, OUTPUT_FORMATS)
    thresholds = read_thresholds(args.model)
    labelled = labelled_files_of(args.model) if args.labelled is None else args.labelled
    labelled_texts = [r.text for r in load_labelled(*labelled)]
    scores = read_scores(args.scores, args.text_col, args.id_col)
    if scores.empty:
        raise TableError(f"--scores: no row with status {OK!r} in {', '.join(map(str, args.scores))}")
    selected = select_rows(scores, [thresholds[v] for v in VIOLATIONS], args.n, args.strategy, labelled_texts,
                           args.seed, args.text_col)
    write_table(selected, args.out, kind)
    print(f"wrote {args.out}: {len(selected)} of {len(scores)} scored rows by {args.strategy}; near-duplicates of "
          f"{len(labelled_texts)} labelled rows ({', '.join(map(str, labelled)) or 'none'}) skipped")
    if len(selected) < args.n:
        print(f"only {len(selected)} rows were left to choose after de-duplication")
    return 0
