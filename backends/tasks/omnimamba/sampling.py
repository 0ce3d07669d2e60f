"""Choosing the next token as the authors' ``models/stage2/generation.py`` ``sample`` does, with a seeded generator.

* ``top_k == 1``: argmax (greedy, the authors' setting for both tasks);
* ``top_k > 1``: the k largest logits, divided by the temperature, nucleus-filtered when ``0 < top_p < 1``, sampled;
* ``top_k == 0``: all logits divided by the temperature, nucleus-filtered, sampled.

Guidance (not in the release; see ``types.OmniMambaGenerateRequest``) mixes conditional and unconditional logits
before sampling: ``uncond + g * (cond - uncond)``.
"""

from __future__ import annotations

from typing import Any


def nucleus(logits: Any, top_p: float) -> Any:
    """Logits with the tail outside ``top_p`` of the probability mass set to -inf (nothing removed for 0 or 1)."""
    import torch

    if top_p <= 0.0 or top_p >= 1.0:
        return logits
    ordered, order = torch.sort(logits, descending=False)
    tail = ordered.softmax(dim=-1).cumsum(dim=-1) <= (1 - top_p)
    return logits.masked_fill(tail.scatter(-1, order, tail), float("-inf"))


def guided(cond: Any, uncond: Any, guidance: float) -> Any:
    """Classifier-free guidance on logits; ``cond`` alone when guidance is 1 or there is no unconditional branch."""
    if uncond is None or guidance == 1.0:
        return cond
    return uncond + guidance * (cond - uncond)


def sample(logits: Any, top_k: int, top_p: float, temperature: float, generator: Any) -> Any:
    """(B, V) logits -> (B,) token ids (see the module docstring); ``generator`` is a CPU ``torch.Generator``."""
    import torch

    logits = logits.float()
    if top_k == 1:
        return logits.argmax(dim=-1)
    if top_k > 0:
        top, indices = torch.topk(logits, min(top_k, logits.shape[-1]), dim=-1)
        probs = nucleus(top / temperature, top_p).softmax(dim=-1)
        pick = torch.multinomial(probs.cpu(), 1, generator=generator).to(indices.device)
        return indices.gather(-1, pick)[:, 0]
    probs = nucleus(logits / temperature, top_p).softmax(dim=-1)
    return torch.multinomial(probs.cpu(), 1, generator=generator)[:, 0].to(logits.device)
