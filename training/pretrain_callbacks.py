"""Trainer callbacks for long pretraining runs: checkpoints by time, a time budget, snapshots at
fractions of the run, and a progress bar with tokens/s and ETA."""
from __future__ import annotations

import logging
import time
from pathlib import Path

from transformers import TrainerCallback

logger = logging.getLogger(__name__)


class TimeBudget(TrainerCallback):
    """Ask for a checkpoint every ``save_every_s`` seconds, and stop (with a checkpoint) after
    ``budget_s`` seconds of this session (0: no budget)."""

    def __init__(self, save_every_s: float, budget_s: float):
        self.save_every_s, self.budget_s = save_every_s, budget_s
        self.started = self.last_save = time.monotonic()

    def on_step_end(self, args, state, control, **kwargs):
        now = time.monotonic()
        if self.budget_s and now - self.started >= self.budget_s and state.global_step < state.max_steps:
            control.should_training_stop = control.should_save = True
        elif now - self.last_save >= self.save_every_s:
            control.should_save = True

    def on_save(self, args, state, control, **kwargs):
        self.last_save = time.monotonic()


class Snapshots(TrainerCallback):
    """Model and tokenizer into ``directory/step-N`` when the run reaches each of ``fractions``."""

    def __init__(self, fractions: list[float], directory: Path):
        self.fractions, self.directory, self.steps = fractions, directory, set()

    def on_train_begin(self, args, state, control, **kwargs):
        self.steps = {max(1, round(f * state.max_steps)) for f in self.fractions}

    def on_step_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        if state.global_step in self.steps:
            path = self.directory / f"step-{state.global_step}"
            model.save_pretrained(path, safe_serialization=True)
            processing_class.save_pretrained(path)
            logger.info("snapshot of step %d in %s", state.global_step, path)


class ProgressBar(TrainerCallback):
    """A tqdm bar over the run's steps showing the last losses and this session's tokens/s; its ETA
    is for the whole run."""

    def __init__(self, tokens_per_step: int):
        self.tokens_per_step, self.bar, self.postfix = tokens_per_step, None, {}

    def on_train_begin(self, args, state, control, **kwargs):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=state.max_steps, initial=state.global_step, unit="step", dynamic_ncols=True)
        self.first_step, self.started = state.global_step, time.monotonic()

    def on_step_end(self, args, state, control, **kwargs):
        self.bar.update(state.global_step - self.bar.n)
        elapsed = time.monotonic() - self.started
        rate = (state.global_step - self.first_step) * self.tokens_per_step / max(elapsed, 1e-9)
        self.bar.set_postfix(self.postfix | {"tok/s": f"{rate:,.0f}"}, refresh=False)

    def on_log(self, args, state, control, logs=None, **kwargs):
        for key, name in (("loss", "loss"), ("eval_loss", "held-out")):
            if logs and key in logs:
                self.postfix[name] = f"{logs[key]:.3f}"

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()
