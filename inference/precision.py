"""Choosing fp32 or bf16 on a CPU by measuring, not by the CPU's feature flags.

A CPU that reports ``avx512_bf16`` but has no AMX tiles can run bf16 autocast slower than fp32
(an AMD EPYC measured: rbt3-shaped scoring 52 vs 91 utterances/s, MLM training about 1.7k vs 2.1k
tokens/s). So ``auto`` runs a few forward passes (scoring) or forward and backward passes
(training) of the actual model in both precisions and keeps the faster one.
"""
from __future__ import annotations

import logging
import re
import time
from contextlib import nullcontext
from pathlib import Path

logger = logging.getLogger(__name__)
BF16_MIN_SPEEDUP = 1.05  # bf16 changes the numbers slightly: it must be clearly faster to be chosen


def cpu_supports_bf16() -> bool:
    """True when the CPU reports native bf16 instructions (AVX512-BF16 or AMX); without them bf16 is
    emulated and always slower, so nothing is measured."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", flags))


def _seconds_per_pass(model, input_ids, training: bool, bf16: bool, repeats: int) -> float:
    import torch

    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext()
    best = float("inf")
    for _ in range(repeats + 1):  # the first pass warms up and is not counted
        started = time.perf_counter()
        with (nullcontext() if training else torch.inference_mode()), autocast:
            output = model(input_ids=input_ids)
            if training:
                output.logits.float().sum().backward()
        best = min(best, time.perf_counter() - started)
    if training:
        model.zero_grad(set_to_none=True)
    return best


def fastest_cpu_precision(model, training: bool, batch_size: int = 8, seq_length: int = 128,
                          repeats: int = 3) -> str:
    """``"bf16"`` or ``"fp32"``: whichever runs ``model`` faster on this CPU, measured on random ids.

    ``training``: time forward and backward passes (autocast, fp32 weights, as the Trainer runs
    bf16); otherwise forward passes under ``inference_mode``.
    """
    if not cpu_supports_bf16():
        return "fp32"
    import torch

    generator = torch.Generator().manual_seed(0)
    length = min(seq_length, model.config.max_position_embeddings)
    input_ids = torch.randint(5, model.config.vocab_size, (batch_size, length), generator=generator)
    fp32 = _seconds_per_pass(model, input_ids, training, bf16=False, repeats=repeats)
    bf16 = _seconds_per_pass(model, input_ids, training, bf16=True, repeats=repeats)
    choice = "bf16" if fp32 > BF16_MIN_SPEEDUP * bf16 else "fp32"
    logger.info("precision auto: %s %s pass of %dx%d tokens took %.0f ms in fp32, %.0f ms in bf16 -> %s",
                "a training" if training else "a scoring", type(model).__name__, batch_size, length,
                fp32 * 1000, bf16 * 1000, choice)
    return choice
