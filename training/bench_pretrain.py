"""``python -m collectguard.training.bench_pretrain [--shapes 4x256 6x256 4x320] [--steps 12]``: MLM training
speed of encoder shapes with the character vocabulary, to choose a shape and plan a pretraining budget.

For each shape (LAYERSxHIDDEN; heads = hidden/64, feed-forward = 4 x hidden) it times optimizer steps
(forward, backward, AdamW) on random blocks with 15 % of the tokens masked, in fp32 and in bf16
autocast, with the loss computed as ``collectguard pretrain`` computes it (head at masked positions
only), and prints tokens/s, parameters and the size of fp16 weights. Threads: torch's default
(set OMP_NUM_THREADS to measure fewer).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path


def tokens_per_second(model, batch_size: int, block_length: int, steps: int, bf16: bool) -> float:
    import torch

    from .pretrain import masked_lm_loss

    generator = torch.Generator().manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    input_ids = torch.randint(5, model.config.vocab_size, (batch_size, block_length), generator=generator)
    labels = torch.where(torch.rand(input_ids.shape, generator=generator) < 0.15, input_ids, -100)
    model.train()
    elapsed = 0.0
    for step in range(steps + 2):  # two warm-up steps are not timed
        started = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext():
            loss = masked_lm_loss(model, input_ids, labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        elapsed += (time.perf_counter() - started) * (step >= 2)
    return steps * batch_size * block_length / elapsed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", nargs="+", default=["4x256", "6x256", "4x320"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--block-length", type=int, default=128)
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args(argv)
    import torch
    from transformers import BertConfig, BertForMaskedLM

    from .tiny import build_tokenizer

    vocab_size = len(build_tokenizer(Path(tempfile.mkdtemp())))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); batch {args.batch_size} x "
          f"{args.block_length} tokens")
    print("shape   params  fp16 MB  fp32 tok/s  bf16 tok/s")
    for shape in args.shapes:
        layers, hidden = map(int, shape.split("x"))
        config = BertConfig(vocab_size=vocab_size, num_hidden_layers=layers, hidden_size=hidden,
                            num_attention_heads=hidden // 64, intermediate_size=4 * hidden)
        model = BertForMaskedLM(config)
        params = sum(p.numel() for p in model.parameters())
        speeds = [tokens_per_second(model, args.batch_size, args.block_length, args.steps, bf16)
                  for bf16 in (False, True)]
        print(f"{shape:<7} {params / 1e6:5.1f}M  {params * 2 / 1e6:7.1f}  {speeds[0]:10,.0f}  {speeds[1]:10,.0f}",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
