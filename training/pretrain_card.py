"""The model card (``README.md``) of a pretrained encoder, written from what pretraining measured."""
from __future__ import annotations

import math


def _corpus_rows(manifest: dict) -> list[str]:
    rows = ["| file | SHA-256 | weight | texts | kept | held out | duplicates | evaluation texts left out | "
            "sampled out | kept characters |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for f in manifest["files"]:
        rows.append(f"| `{f['path']}` | `{f['sha256'][:16]}…` | {f['weight']:g} | {f['texts']:,} | {f['kept']:,} | "
                    f"{f['held_out']:,} | {f['duplicates']:,} | {f['evaluation_texts']:,} | {f['sampled_out']:,} | "
                    f"{f['kept_chars']:,} |")
    return rows


def _curve_rows(curve: list[dict]) -> list[str]:
    rows = ["| step | train loss | held-out MLM loss | held-out perplexity |", "|---:|---:|---:|---:|"]
    for point in curve:
        train = f"{point['train_loss']:.3f}" if "train_loss" in point else ""
        held = point.get("held_out_loss")
        held_text = f"{held:.3f} | {math.exp(held):.1f}" if held is not None else " | "
        rows.append(f"| {point['step']} | {train} | {held_text} |")
    return rows


def pretrain_card(facts: dict, manifest: dict, notes: str = "") -> str:
    shape, settings = facts["shape"], manifest["settings"]
    origin = ("pretrained from scratch (random initialisation) with the collectguard character vocabulary "
              "(GB2312 + Big5 + ASCII, `training/tiny.py`)" if facts["base_model"] == "scratch"
              else f"continued pretraining of `{facts['base_model']}`")
    lines = [
        "---", "library_name: transformers", "language: zh", "pipeline_tag: fill-mask",
        "tags: [collectguard, bert, masked-language-model]", "---", f"# {facts['name']}", "",
        f"A BERT-architecture masked-language-model encoder, {origin}. It is not a classifier: fine-tune it with "
        f"`collectguard train` and `model.base_model: <this folder>`.", "",
        "## Model",
        f"- {shape['num_hidden_layers']} layers, hidden size {shape['hidden_size']}, "
        f"{shape['num_attention_heads']} heads, feed-forward {shape['intermediate_size']}, vocabulary "
        f"{shape['vocab_size']:,}, positions {shape['max_position_embeddings']}; {facts['parameters'] / 1e6:.1f} M "
        f"parameters; weights stored in {facts['weights_dtype']} (load them in fp32 to train)",
        "", "## Pretraining",
        f"- {facts['steps']:,} steps of {facts['batch_size']} blocks × {facts['block_length']} tokens: "
        f"{facts['tokens_seen']:,} tokens seen ({facts['epochs']:.2f} epochs of the training part)",
        f"- masking: {facts['mlm_probability']:.0%} of "
        + ("whole words (jieba segmentation via rjieba; all of a word's characters masked together)"
           if facts["whole_word_mask"] else "tokens (80 % [MASK], 10 % random, 10 % unchanged)"),
        f"- {facts['hours']:.2f} hours of training in {len(facts['sessions'])} session(s); precision "
        + ", ".join(sorted({s['precision'] for s in facts['sessions']})),
        f"- held-out MLM loss {facts['initial_held_out_loss']:.3f} at step 0 -> {facts['final_held_out_loss']:.3f} "
        f"(perplexity {facts['final_held_out_perplexity']:.1f}), measured on "
        f"{manifest['blocks']['held_out']:,} held-out blocks with fixed token-level masks",
        "", "## Corpus",
        f"Texts normalised like the classifier's input ({settings['normalization']}), exact duplicates removed, "
        f"texts of the evaluation files (the test split, `shared/corpora/eval/`, COLD's test split) "
        + ("left out" if settings["drop_evaluation_texts"] else "refused")
        + f" by normalised-text hash; {settings['held_out']:.0%} of the texts held out by hash. "
        f"{manifest['tokens']['train']:,} training tokens in {manifest['blocks']['train']:,} blocks.", "",
        *_corpus_rows(manifest),
        "", "## Loss curve", *_curve_rows(facts["curve"]),
    ]
    if notes.strip():
        lines += ["", notes.strip()]
    lines += ["", "## Limits",
              "- An encoder learns the language of its corpus, its biases included; the held-out loss says how well "
              "it predicts masked text like its corpus, not how well a classifier built on it will work."]
    return "\n".join(lines) + "\n"
