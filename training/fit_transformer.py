"""Fine-tuning a BERT-architecture model with the Hugging Face Trainer (sigmoid + BCE)."""
from __future__ import annotations

import logging
from pathlib import Path

from scipy.special import expit  # overflow-safe sigmoid

from collectguard.inference.labels import to_multi_hot
from collectguard.inference.normalize import normalize
from collectguard.inference.precision import fastest_cpu_precision
from collectguard.inference.transformer import TransformerScorer

from .base_model import load_base_model
from .config import Config
from .data import WEIGHT, label_matrix
from .metrics import multilabel_metrics

logger = logging.getLogger(__name__)


def resolve_precision(requested: str, model, seq_length: int = 128) -> str:
    """The training precision: as configured, or for ``auto`` bf16/fp16 on a GPU and on a CPU whichever
    of fp32/bf16 trains ``model`` faster in a short measurement."""
    import torch

    if requested != "auto":
        if requested == "fp16" and not torch.cuda.is_available():
            raise ValueError("training.precision: fp16 needs a GPU; use bf16 or fp32 on CPU")
        return requested
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return fastest_cpu_precision(model, training=True, seq_length=seq_length)


def encode(dataset, tokenizer, normalization, max_length: int):
    """``dataset`` tokenised once, with a cached ``Dataset.map``: ``input_ids`` and ``attention_mask`` of the
    text's first window (``[CLS]``, at most ``max_length - 2`` tokens, ``[SEP]``: the window the classifier
    scores first), multi-hot float ``labels`` and ``truncated`` (the text is longer than one window)."""
    body = max_length - 2

    def tokenise(batch):
        texts = [normalize(text, normalization) for text in batch["text"]]
        ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
        windows = [[tokenizer.cls_token_id, *row[:body], tokenizer.sep_token_id] for row in ids]
        return {"input_ids": windows, "attention_mask": [[1] * len(w) for w in windows],
                "labels": [[float(x) for x in to_multi_hot(labels)] for labels in batch["labels"]],
                "weight": batch[WEIGHT] if WEIGHT in batch else [1.0] * len(ids),
                "truncated": [len(row) > body for row in ids]}

    return dataset.map(tokenise, batched=True, remove_columns=dataset.column_names, desc="tokenising")


def _trainer_class(pos_weight):
    import torch
    from transformers import Trainer

    class WeightedTrainer(Trainer):
        """Trainer whose loss is BCE with per-label positive weights (or none), averaged with the
        rows' sample weights."""

        def compute_loss(self, model, inputs, return_outputs=False, **kwargs):
            labels, weights = inputs.pop("labels"), inputs.pop("weight")
            outputs = model(**inputs)
            losses = torch.nn.functional.binary_cross_entropy_with_logits(
                outputs.logits.float(), labels.float(), reduction="none",
                pos_weight=None if pos_weight is None else pos_weight.to(outputs.logits.device))
            loss = (losses.mean(dim=1) * weights).sum() / weights.sum()
            return (loss, outputs) if return_outputs else loss

    return WeightedTrainer


def _epoch_summary_callback():
    from transformers import TrainerCallback

    class EpochSummary(TrainerCallback):
        """One log line per epoch; the Trainer's own printing of the same numbers is removed."""

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            losses = [h["loss"] for h in state.log_history if "loss" in h]
            train_loss = f"{losses[-1]:.4f}" if losses else "n/a"
            logger.info("epoch %.1f: train loss %s, dev loss %.4f, dev macro-F1 %.4f, dev any-violation F1 %.4f",
                        state.epoch, train_loss, metrics.get("eval_loss", float("nan")),
                        metrics.get("eval_macro_f1", float("nan")), metrics.get("eval_any_f1", float("nan")))

    return EpochSummary()


def _quiet_progress_callback():
    """The Trainer's progress bar without its printing of every log dict."""
    from transformers.trainer_callback import ProgressCallback

    class BarOnly(ProgressCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            pass

    return BarOnly


def _compute_metrics(eval_prediction):
    logits, labels = eval_prediction
    probs = expit(logits)
    metrics = multilabel_metrics(labels.astype(int), (probs >= 0.5).astype(int), probs)
    return {"macro_f1": metrics["macro_f1"], "any_f1": metrics["any_violation"]["f1"]}


def fit_transformer(config: Config, train, dev, workdir: Path, quiet: bool = False):
    """Train on the ``train`` dataset and keep the best checkpoint by macro-F1 on ``dev`` (checkpoints in
    ``workdir``).

    Returns the trained ``TransformerScorer`` (in memory) and facts for the model card: precision,
    steps, truncated rows, loss history.
    """
    import torch
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback, TrainingArguments, set_seed

    settings = config.training
    set_seed(settings.seed)
    tokenizer, model = load_base_model(config.model, workdir)
    train_set, dev_set = (encode(d, tokenizer, config.normalization, config.model.max_length) for d in (train, dev))
    truncated = int(sum(train_set["truncated"]))
    train_set, dev_set = (d.remove_columns("truncated") for d in (train_set, dev_set))
    pos_weight = None
    if settings.pos_weight:
        train_labels = label_matrix(train["labels"])
        positives = train_labels.sum(axis=0).clip(min=1)
        pos_weight = torch.tensor((len(train_labels) - positives) / positives, dtype=torch.float32)
    precision = resolve_precision(settings.precision, model, config.model.max_length)
    checkpoints = workdir / "checkpoints"
    arguments = TrainingArguments(
        output_dir=str(checkpoints), num_train_epochs=settings.epochs, max_steps=settings.max_steps,
        per_device_train_batch_size=settings.batch_size, per_device_eval_batch_size=64,
        learning_rate=settings.learning_rate, weight_decay=settings.weight_decay,
        warmup_steps=settings.warmup_ratio,  # transformers 5: a value below 1 is a share of the steps
        eval_strategy="epoch", save_strategy="epoch",
        load_best_model_at_end=True, metric_for_best_model="macro_f1", greater_is_better=True,
        save_total_limit=2, seed=settings.seed, data_seed=settings.seed, full_determinism=True,
        bf16=precision == "bf16", fp16=precision == "fp16", use_cpu=not torch.cuda.is_available(),
        logging_strategy="epoch", report_to="none", disable_tqdm=quiet,
        dataloader_num_workers=0, remove_unused_columns=False,
    )
    trainer = _trainer_class(pos_weight)(
        model=model, args=arguments, train_dataset=train_set, eval_dataset=dev_set,
        data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=_compute_metrics,
        callbacks=[EarlyStoppingCallback(settings.early_stopping_patience), _epoch_summary_callback()],
    )
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)  # epoch metrics are logged once, by EpochSummary
    trainer.remove_callback(ProgressCallback)
    if not quiet:
        trainer.add_callback(_quiet_progress_callback())
    result = trainer.train()
    scorer = TransformerScorer(trainer.model.to(torch.float32), tokenizer, config.model.max_length,
                               config.model.window_stride)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return scorer, {"precision": precision, "steps": trainer.state.global_step,
                    "train_runtime_s": result.metrics["train_runtime"], "train_rows": len(train_set),
                    "truncated_train_rows": truncated,
                    "best_dev_macro_f1_at_0.5": trainer.state.best_metric,
                    "train_loss_by_epoch": losses}
