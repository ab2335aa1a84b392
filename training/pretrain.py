"""``collectguard pretrain --corpus PATH[:WEIGHT] ... --base-model NAME|DIR|scratch --out RUN``.

Masked-language-model pretraining with the Hugging Face Trainer: continued pretraining (domain
adaptation) of an existing BERT-architecture model on your unlabelled transcripts, or pretraining from
scratch with the project's character vocabulary (``--base-model scratch`` and a shape).

The run folder ``RUN`` holds ``corpus/`` (packed blocks, built once), ``checkpoints/`` (every
``--save-minutes``; ``--resume`` continues from the last one: weights, optimizer, scheduler, random
state and data position), ``snapshots/step-N/`` (model and tokenizer at the ``--snapshot-at``
fractions of the run) and, when the run is complete, ``model/``: a standard model directory
(``AutoModelForMaskedLM``, tokenizer, ``README.md`` model card, ``pretraining.json``) that
``model.base_model`` of a training config accepts.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path

from transformers import TrainerCallback

from collectguard.inference.normalize import NormalizationConfig

from .leakage import EvaluationTexts
from .pretrain_callbacks import ProgressBar, Snapshots, TimeBudget
from .pretrain_card import pretrain_card
from .pretrain_corpus import CorpusError, CorpusSettings, CorpusSource, build_corpus, load_corpus

logger = logging.getLogger(__name__)
SCRATCH = "scratch"


class MaskingCollator(TrainerCallback):
    """Dynamic masking (token-level, or whole words) for training blocks; held-out blocks were masked
    once when the corpus was built and pass through unchanged.

    The masks of training batch k come from a generator seeded with (seed, k), not from the global
    random state: the Trainer's data loader prepares a batch ahead, so a checkpoint's saved random
    state already includes the next batch's draws, and a resumed run would mask that batch
    differently. As a callback it learns the batch number a resumed run starts at."""

    def __init__(self, tokenizer, probability: float, whole_word: bool, seed: int = 0):
        from transformers import DataCollatorForLanguageModeling

        replace = {"mask_replace_prob": 1.0, "random_replace_prob": 0.0} if whole_word else {}  # all it supports
        self.masking = DataCollatorForLanguageModeling(tokenizer, mlm_probability=probability,
                                                       whole_word_mask=whole_word, **replace)
        self.seed, self.next_batch = seed, 0

    def on_train_begin(self, args, state, control, **kwargs):
        self.next_batch = state.global_step * args.gradient_accumulation_steps

    def __call__(self, examples):
        import torch

        if "labels" in examples[0]:
            return {key: torch.tensor([e[key] for e in examples]) for key in ("input_ids", "labels")}
        self.masking.generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.next_batch)
        self.next_batch += 1
        return self.masking(examples)


def masked_lm_loss(model, input_ids, labels, attention_mask=None):
    """Cross-entropy of the MLM head at the masked positions only. ``BertForMaskedLM`` runs its head
    (a vocabulary-sized output layer) at every position; with a 16k-character vocabulary and a small
    encoder that costs more than the encoder, for the same loss."""
    import torch

    hidden = model.base_model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    masked = labels != -100
    head = model.cls if hasattr(model, "cls") else model.lm_head  # BERT / RoBERTa
    return torch.nn.functional.cross_entropy(head(hidden[masked]).float(), labels[masked])


def _trainer_class():
    from transformers import Trainer

    class MaskedPositionsTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            loss = masked_lm_loss(model, inputs["input_ids"], inputs["labels"], inputs.get("attention_mask"))
            return (loss, {"loss": loss}) if return_outputs else loss

    return MaskedPositionsTrainer


def load_model(args: argparse.Namespace, tokenizer_dir: Path):
    """Tokenizer and ``BertForMaskedLM``-style model: a hub name or local directory, or a fresh model of
    the given shape with the character vocabulary of ``training/tiny.py``."""
    import torch
    from transformers import AutoModelForMaskedLM, AutoTokenizer, BertConfig, BertForMaskedLM

    if args.base_model == SCRATCH:
        from .tiny import build_tokenizer

        tokenizer = build_tokenizer(tokenizer_dir)
        config = BertConfig(vocab_size=len(tokenizer), num_hidden_layers=args.layers, hidden_size=args.hidden,
                            num_attention_heads=args.heads, intermediate_size=args.intermediate,
                            max_position_embeddings=max(512, args.block_length))
        return tokenizer, BertForMaskedLM(config)
    from .base_model import BaseModelNotFound, how_to_provide

    try:
        tokenizer = AutoTokenizer.from_pretrained(args.base_model)
        model = AutoModelForMaskedLM.from_pretrained(args.base_model, dtype=torch.float32)
    except OSError as exc:
        raise BaseModelNotFound(how_to_provide(args.base_model) + f"\n(transformers said: {exc})") from exc
    if model.config.model_type not in ("bert", "roberta"):
        raise BaseModelNotFound(f"{args.base_model}: model type {model.config.model_type!r} is not BERT-architecture")
    return tokenizer, model


def corpus_settings(args: argparse.Namespace) -> CorpusSettings:
    return CorpusSettings(sources=[CorpusSource.parse(s) for s in args.corpus], text_column=args.text_column,
                          block_length=args.block_length, held_out=args.held_out,
                          whole_word_mask=args.whole_word_mask, mlm_probability=args.mlm_probability,
                          seed=args.seed, drop_evaluation_texts=args.drop_evaluation_texts,
                          normalization=NormalizationConfig())


def training_arguments(args: argparse.Namespace, run: Path, precision: str):
    import torch
    from transformers import TrainingArguments

    learning_rate = args.learning_rate or (5e-4 if args.base_model == SCRATCH else 5e-5)
    return TrainingArguments(
        output_dir=str(run / "checkpoints"), max_steps=args.max_steps, num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch_size, per_device_eval_batch_size=64,
        learning_rate=learning_rate, weight_decay=args.weight_decay, warmup_steps=args.warmup_ratio,
        lr_scheduler_type="linear", eval_strategy="steps", eval_steps=args.eval_steps, logging_steps=args.eval_steps,
        save_strategy="steps" if args.save_steps else "no", save_steps=args.save_steps or 500,
        save_total_limit=args.keep_checkpoints, seed=args.seed, data_seed=args.seed,
        bf16=precision == "bf16", fp16=precision == "fp16", use_cpu=not torch.cuda.is_available(),
        report_to="none", disable_tqdm=True, dataloader_num_workers=0, remove_unused_columns=False,
        prediction_loss_only=True,
    )


def pretrain(args: argparse.Namespace, extra_callbacks: Sequence = ()) -> dict:
    """Run (or resume) the pretraining of ``args``; returns the facts written to ``pretraining.json``
    (``complete`` False when ``--max-minutes`` stopped it first)."""
    from transformers import set_seed
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from .fit_transformer import resolve_precision

    run = Path(args.out)
    checkpoints = sorted((run / "checkpoints").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    if args.resume and not checkpoints:
        raise CorpusError(f"--resume: {run}/checkpoints holds no checkpoint; start without --resume")
    if not args.resume and run.exists() and any(run.iterdir()):
        raise CorpusError(f"--out {run}: already exists and is not empty; pass --resume to continue that run, "
                          "or choose a new folder")
    set_seed(args.seed)
    started = time.perf_counter()
    tokenizer, model = load_model(args, run / "tokenizer")
    settings = corpus_settings(args)
    if args.resume:
        train_set, held_out, manifest = load_corpus(run / "corpus", settings)
    else:
        evaluation = EvaluationTexts.load(normalization=settings.normalization)
        manifest = build_corpus(settings, tokenizer, evaluation, run / "corpus")
        train_set, held_out, _ = load_corpus(run / "corpus", settings)
    logger.info("corpus: %d training blocks, %d held-out blocks of %d tokens", len(train_set), len(held_out),
                args.block_length)
    precision = resolve_precision(args.precision, model, args.block_length)
    arguments = training_arguments(args, run, precision)
    tokens_per_step = args.batch_size * args.block_length
    budget = TimeBudget(args.save_minutes * 60, args.max_minutes * 60)
    collator = MaskingCollator(tokenizer, args.mlm_probability, args.whole_word_mask, args.seed)
    trainer = _trainer_class()(model=model, args=arguments, train_dataset=train_set, eval_dataset=held_out,
                      data_collator=collator, processing_class=tokenizer,
                      callbacks=[collator, budget, Snapshots(args.snapshot_at, run / "snapshots"),
                                 *([] if args.quiet else [ProgressBar(tokens_per_step)]), *extra_callbacks])
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    if not args.resume:
        (run / "initial_loss.json").write_text(json.dumps({"held_out_loss": trainer.evaluate()["eval_loss"]}))
    try:
        trainer.train(resume_from_checkpoint=str(checkpoints[-1]) if args.resume else None)
    finally:  # also when interrupted: the session's hours count
        record_session(run, time.perf_counter() - started, trainer.state.global_step, precision)
    state = trainer.state
    facts = run_facts(args, run, state, manifest, tokens_per_step)
    if not facts["complete"]:
        logger.info("stopped by --max-minutes at step %d of %d; checkpoint saved, continue with --resume",
                    state.global_step, state.max_steps)
        return facts
    final = trainer.evaluate()["eval_loss"]
    facts.update(final_held_out_loss=final, final_held_out_perplexity=math.exp(final))
    save_model_directory(trainer.model, tokenizer, run / "model", args, facts, manifest)
    return facts


def record_session(run: Path, seconds: float, until_step: int, precision: str) -> None:
    path = run / "sessions.json"
    sessions = json.loads(path.read_text()) if path.is_file() else []
    sessions.append({"seconds": seconds, "until_step": until_step, "precision": precision})
    path.write_text(json.dumps(sessions, indent=1))


def run_facts(args, run: Path, state, manifest: dict, tokens_per_step: int) -> dict:
    """What the model card and ``pretraining.json`` report, over every session of the run."""
    sessions = json.loads((run / "sessions.json").read_text())
    initial = json.loads((run / "initial_loss.json").read_text())["held_out_loss"]
    return {
        "complete": state.global_step >= state.max_steps, "steps": state.global_step, "max_steps": state.max_steps,
        "tokens_seen": state.global_step * tokens_per_step, "batch_size": args.batch_size,
        "block_length": args.block_length, "epochs": state.epoch, "whole_word_mask": args.whole_word_mask,
        "mlm_probability": args.mlm_probability, "base_model": args.base_model,
        "learning_rate": state.log_history[0].get("learning_rate") if state.log_history else None,
        "hours": sum(s["seconds"] for s in sessions) / 3600, "sessions": sessions,
        "initial_held_out_loss": initial,
        "curve": [{"step": 0, "held_out_loss": initial}] + loss_curve(state.log_history),
        "corpus": manifest,
    }


def loss_curve(log_history: list[dict]) -> list[dict]:
    """``{"step", "train_loss", "held_out_loss"}`` per logged step, from the Trainer's history."""
    by_step: dict[int, dict] = {}
    for entry in log_history:
        point = by_step.setdefault(entry["step"], {"step": entry["step"]})
        if "loss" in entry:
            point["train_loss"] = entry["loss"]
        if "eval_loss" in entry:
            point["held_out_loss"] = entry["eval_loss"]
    return [by_step[s] for s in sorted(by_step)]


def save_model_directory(model, tokenizer, directory: Path, args, facts: dict, manifest: dict) -> None:
    import torch

    directory.mkdir(parents=True, exist_ok=True)
    dtype = torch.float16 if args.save_dtype == "fp16" else torch.float32
    model.to(dtype).save_pretrained(directory, safe_serialization=True)
    tokenizer.model_max_length = model.config.max_position_embeddings
    tokenizer.save_pretrained(directory)
    notes = Path(args.card_notes).read_text(encoding="utf-8") if args.card_notes else ""
    facts.update(name=args.name or Path(args.out).name, weights_dtype=args.save_dtype,
                 parameters=sum(p.numel() for p in model.parameters()), shape=shape_of(model.config))
    (directory / "pretraining.json").write_text(json.dumps(facts, ensure_ascii=False, indent=1), encoding="utf-8")
    (directory / "README.md").write_text(pretrain_card(facts, manifest, notes), encoding="utf-8")


def shape_of(config) -> dict:
    keys = ("num_hidden_layers", "hidden_size", "num_attention_heads", "intermediate_size", "vocab_size",
            "max_position_embeddings")
    return {key: getattr(config, key) for key in keys}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="collectguard pretrain", description=__doc__.split("\n\n")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--corpus", action="append", required=True, metavar="PATH[:WEIGHT]",
        help="a .txt (one text per line), .jsonl, .csv or .parquet file or a folder of them; WEIGHT in (0, 1] "
             "keeps that share of its texts (repeatable)")
    add("--text-column", default="text", help="column with the text in JSONL/CSV/Parquet files (default: text)")
    add("--out", required=True, type=Path, help="run folder (corpus, checkpoints, snapshots, model/)")
    add("--base-model", required=True, help="hub name or local model directory to continue, or 'scratch'")
    add("--name", help="the model's name in its card (default: the --out folder's name)")
    shape = parser.add_argument_group("shape of a --base-model scratch model")
    shape.add_argument("--layers", type=int, default=4)
    shape.add_argument("--hidden", type=int, default=256)
    shape.add_argument("--heads", type=int, default=4)
    shape.add_argument("--intermediate", type=int, default=1024)
    add("--block-length", type=int, default=128, help="tokens per packed sequence, [CLS] and [SEP] included")
    add("--held-out", type=float, default=0.02, help="share of texts held out for MLM loss and perplexity")
    add("--whole-word-mask", action="store_true", help="mask whole words (jieba segmentation, via rjieba)")
    add("--mlm-probability", type=float, default=0.15)
    add("--drop-evaluation-texts", action="store_true",
        help="leave evaluation texts found in the corpus out (counted in the card) instead of refusing the corpus")
    add("--batch-size", type=int, default=32)
    add("--learning-rate", type=float, help="peak learning rate (default: 5e-4 from scratch, 5e-5 continued)")
    add("--warmup-ratio", type=float, default=0.06)
    add("--weight-decay", type=float, default=0.01)
    add("--max-steps", type=int, default=-1, help="optimizer steps of the whole run (the schedule's length)")
    add("--epochs", type=float, default=1.0, help="passes over the corpus, when --max-steps is not given")
    add("--eval-steps", type=int, default=200, help="held-out loss and train-loss log every N steps")
    add("--save-minutes", type=float, default=10.0, help="checkpoint every N minutes")
    add("--save-steps", type=int, default=0, help="also checkpoint every N steps (0: only by time)")
    add("--keep-checkpoints", type=int, default=2, help="checkpoints kept (older ones are deleted)")
    add("--snapshot-at", type=float, action="append", default=[], metavar="FRACTION",
        help="save model and tokenizer into snapshots/step-N at this fraction of the steps (repeatable)")
    add("--max-minutes", type=float, default=0.0, help="stop with a checkpoint after N minutes (0: no limit)")
    add("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    add("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"],
        help="auto: bf16/fp16 on a GPU, on a CPU whichever of fp32/bf16 a short measurement finds faster")
    add("--save-dtype", default="fp32", choices=["fp32", "fp16"], help="dtype of the final weights")
    add("--card-notes", help="a Markdown file appended to the model card (sources, licences, attribution)")
    add("--seed", type=int, default=13)
    add("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.base_model == SCRATCH and args.hidden % args.heads:
        parser.error("--hidden must be a multiple of --heads")
    if not 0 < args.held_out < 1:
        parser.error("--held-out must be between 0 and 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    facts = pretrain(args)
    if not facts["complete"]:
        print(f"stopped at step {facts['steps']} of {facts['max_steps']} (--max-minutes); continue with the same "
              "command and --resume")
        return 0
    print(f"wrote {Path(args.out) / 'model'}: {facts['steps']} steps, {facts['tokens_seen']:,} tokens, "
          f"held-out MLM loss {facts['initial_held_out_loss']:.3f} -> {facts['final_held_out_loss']:.3f} "
          f"(perplexity {facts['final_held_out_perplexity']:.1f})")
    return 0
