"""CatVTON's text-free attention, and its attention-only checkpoint in the released flat-list layout.

**Cross-attention is skipped, not removed.** CatVTON runs the UNet with ``encoder_hidden_states=None`` and gives
every cross-attention (``attn2``) a processor that returns the hidden states it receives. In diffusers'
``BasicTransformerBlock`` that input is ``norm2(h)`` and the block adds the processor's output to the residual, so
each block computes ``h <- h + norm2(h)``: not the identity, and not what returning zeros would give. The trained
weights expect exactly that, so ``SkipCrossAttention`` returns its input unchanged.

**The checkpoint is a flat list.** CatVTON trains only the self-attention (``attn1``) modules and saves them as one
``torch.nn.ModuleList`` built from ``unet.named_modules()``: every module whose qualified name contains ``"attn1"``,
in order, i.e. per block the ``Attention`` module and its children ``to_q``, ``to_k``, ``to_v``, ``to_out``,
``to_out.0``, ``to_out.1`` and, last, its processor (an ``nn.Module`` in CatVTON, so it takes a slot): eight slots
per block. The same tensor therefore appears under several positional keys (``0.to_q.weight`` is ``1.weight``);
the saver keeps one of each (``accelerate`` keeps ``N.to_q.weight``-style names, ``safetensors.save_model`` another
set). ``load_attention_checkpoint`` rebuilds every alias of the list for this UNet and maps whatever keys the file
holds back onto the UNet's own parameters, checking that each ``attn1`` weight is given exactly once. A file saved
while the processors were plain objects (seven slots per block) is recognised too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backends.core.errors import ModelUnavailable

SELF = "attn1"
CHECKPOINT = "model.safetensors"  # accelerate's save_model / load_checkpoint_in_model file name


class SkipCrossAttention:
    """The cross-attention processor of a text-free UNet: returns its (``norm2``-normalised) input.

    The block then adds it to the residual (``h + norm2(h)``), as CatVTON's ``SkipAttnProcessor`` makes it do.
    """

    def __call__(self, attn: Any, hidden_states: Any, encoder_hidden_states: Any = None, attention_mask: Any = None,
                 temb: Any = None, *args: Any, **kwargs: Any) -> Any:
        return hidden_states


def use_catvton_attention(unet: Any) -> None:
    """Self-attention through diffusers' SDPA processor, cross-attention skipped (see the module docstring)."""
    from diffusers.models.attention_processor import AttnProcessor2_0

    unet.set_attn_processor({name: AttnProcessor2_0() if name.endswith(f"{SELF}.processor") else SkipCrossAttention()
                             for name in unet.attn_processors})


def flat_list_names(unet: Any, processor_slots: bool = True) -> list[str]:
    """The qualified module names behind each index of CatVTON's flat attention list, in order.

    Args:
        unet: the diffusers UNet.
        processor_slots: count each ``attn1`` processor as a list entry after the block's other children (CatVTON's
            processors are ``nn.Module``s; ours are plain callables, so their slots are added here).
    """
    names = [name for name, _ in unet.named_modules() if SELF in name]
    if not processor_slots:
        return [n for n in names if not n.endswith(f"{SELF}.processor")]
    out: list[str] = []
    for index, name in enumerate(names):
        out.append(name)
        root = name[: name.index(SELF) + len(SELF)]
        following = names[index + 1] if index + 1 < len(names) else ""
        if not following.startswith(f"{root}.") and f"{root}.processor" not in names:
            out.append(f"{root}.processor")  # the last child of this block's Attention module
    return out


def alias_table(unet: Any, processor_slots: bool = True) -> dict[str, str]:
    """Every key the flat list's state dict can hold -> the UNet parameter it stands for."""
    modules = dict(unet.named_modules())
    table = {}
    for index, name in enumerate(flat_list_names(unet, processor_slots)):
        module = modules.get(name)
        if module is None or not hasattr(module, "named_parameters"):
            continue  # a processor slot: no parameters
        for parameter, _ in module.named_parameters():
            table[f"{index}.{parameter}"] = f"{name}.{parameter}"
    return table


def load_attention_checkpoint(unet: Any, path: str | Path) -> dict[str, Any]:
    """Load a CatVTON attention checkpoint (``model.safetensors`` of the flat list) into the UNet's ``attn1``.

    Returns:
        What was loaded: the file, the layout found (slots per block), tensors read and parameters set.

    Raises:
        ModelUnavailable: the file does not fit this UNet (unknown keys, missing or conflicting weights, shapes).
    """
    import torch
    from safetensors.torch import load_file

    path = Path(path)
    state = load_file(str(path))
    wanted = {f"{name}.{p}" for name, module in unet.named_modules() if name.endswith(SELF)
              for p, _ in module.named_parameters()}
    problems = []
    for slots in (True, False):
        table = alias_table(unet, slots)
        unknown = sorted(set(state) - set(table))
        if unknown:
            problems.append(f"{len(unknown)} keys that are not attention weights of this UNet (e.g. {unknown[:3]})")
            continue
        target: dict[str, Any] = {}
        for key, tensor in state.items():
            name = table[key]
            if name in target and not torch.equal(target[name], tensor):
                raise ModelUnavailable(f"{path}: keys {key} and another alias disagree about {name}")
            target[name] = tensor
        missing = sorted(wanted - set(target))
        if missing:
            problems.append(f"no value for {len(missing)} attention weights (e.g. {missing[:3]})")
            continue
        shapes = unet.state_dict()
        wrong = [n for n, t in target.items() if tuple(shapes[n].shape) != tuple(t.shape)]
        if wrong:
            raise ModelUnavailable(f"{path}: {len(wrong)} attention weights have the wrong shape for this UNet "
                                   f"(e.g. {wrong[0]}: {tuple(target[wrong[0]].shape)} vs "
                                   f"{tuple(shapes[wrong[0]].shape)}); is it the checkpoint of another base model?")
        result = unet.load_state_dict(target, strict=False)
        assert not result.unexpected_keys, result.unexpected_keys  # every name came from the UNet itself
        per_block = 8 if slots else 7
        return {"file": str(path), "slots_per_block": per_block, "tensors": len(state), "parameters": len(target)}
    raise ModelUnavailable(f"{path} is not a CatVTON attention checkpoint for this UNet: " + "; ".join(problems))
