"""Write tests/fixtures/omnimamba/OmniMamba-1.3b.manifest.json from the authors' model classes (the fixture's
provenance; see its SOURCE.md). Not part of the studio: run it from a scratch folder outside the repository, in a
virtualenv with torch, torchvision, timm==0.9.10, transformers==4.46.1, einops, accelerate, pyyaml, rich and triton,
with two source trees in ``src/`` (nothing of the authors' code is copied into the studio):

    src/omnimamba   git archive b372978 of github.com/hustvl/OmniMamba
    src/mamba       git archive v2.2.2 of github.com/state-spaces/mamba (mamba_ssm, imported uncompiled)

    python /path/to/studio/scripts/omnimamba_manifest.py OUT.json

The classes are instantiated at the released configuration (config/config_stage2.yaml, OmniMamba-1.3B) on the meta
device; the network-bound steps are replaced: the GPT-NeoX tokenizer by a stand-in of its length (50277 tokens,
``<|endoftext|>`` = 0), timm's pretrained downloads by ``pretrained=False`` on the CPU (the 384 px shapes are the same;
timm's ViT computes drop-path rates with ``.item()``, which meta tensors refuse), the VQ download by an unloaded VQ_16.
"""

import argparse
import json
import sys
import types
from pathlib import Path

import torch

ROOT = Path.cwd() / "src"
COMPONENTS = (("vision_dino", "vision_backbone.dino_featurizer."),
              ("vision_siglip", "vision_backbone.siglip_featurizer."), ("vqvae", "llm_backbone.vqvae."))


class NeoXStandIn:
    """What UniversalPrompting and OmniMamba read from the EleutherAI/gpt-neox-20b tokenizer."""

    def __init__(self) -> None:
        self.vocab = {"<|endoftext|>": 0}
        self.size = 50277
        self.pad_token_id = None
        self.eos_token_id = self.bos_token_id = 0
        self.padding_side = "right"

    def add_special_tokens(self, tokens: dict) -> None:
        for token in tokens.values():
            self.vocab[token], self.size = self.size, self.size + 1
        self.pad_token_id = self.vocab[tokens["pad_token"]]

    def add_tokens(self, tokens: list) -> None:
        for token in tokens:
            self.vocab[token], self.size = self.size, self.size + 1

    def convert_tokens_to_ids(self, tokens):
        return [self.vocab[t] for t in tokens] if isinstance(tokens, list) else self.vocab[tokens]

    def __len__(self) -> int:
        return self.size


def numel(shapes: dict) -> int:
    return sum(int(torch.Size(s).numel()) for s in shapes.values())


def main(out: Path) -> None:
    sys.path[:0] = [str(ROOT / "omnimamba"), str(ROOT / "mamba")]
    sys.modules["selective_scan_cuda"] = types.ModuleType("selective_scan_cuda")  # CUDA extension, not built
    import timm
    import transformers
    import yaml

    create = timm.create_model

    def create_model(name: str, pretrained: bool = False, **kwargs):
        with torch.device("cpu"):
            return create(name, pretrained=False, **kwargs)

    timm.create_model = create_model
    transformers.AutoTokenizer.from_pretrained = classmethod(lambda cls, *a, **k: NeoXStandIn())
    from llamagen_tokenizer.tokenizer_image.vq_model import VQ_models
    from models import mamba_vlm

    mamba_vlm.MambaVLM.init_1st_stage_model = lambda self: VQ_models["VQ-16"]()
    from models.omnimamba import OmniMamba

    config = yaml.safe_load((ROOT / "omnimamba" / "config" / "config_stage2.yaml").read_text())["train"]
    config["vq_model"] = "VQ-f16"
    with torch.device("meta"):
        model = OmniMamba(argparse.Namespace(**config), stage="inference")
    state = {k: list(v.shape) for k, v in model.state_dict().items()}
    prompting = model.llm_backbone.uni_prompting
    ids = {k: prompting.text_tokenizer.convert_tokens_to_ids(k) for k in prompting.sptids_dict if k != "<|pad|>"}
    ids["[PAD]"] = prompting.text_tokenizer.pad_token_id
    mamba = model.llm_backbone.mamba
    tied = [[f"llm_backbone.mamba.{a}", f"llm_backbone.mamba.{b}"] for a, b, same in (
        ("lm_head.weight", "backbone.embedding.weight", mamba.lm_head.weight is mamba.backbone.embedding.weight),
        ("img_head.weight", "backbone.img_embeddings.word_embeddings.weight",
         mamba.img_head.weight is mamba.backbone.img_embeddings.word_embeddings.weight)) if same]
    released = {k: v for k, v in state.items() if not k.startswith(("vision_backbone.", "llm_backbone.vqvae."))}
    manifest = {
        "note": "State-dict keys and shapes of hustvl/OmniMamba @ b372978 (OmniMamba with config_stage2.yaml), from "
                "the authors' classes on the meta device; 'released' is the part expected in OmniMamba-1.3b.pth. "
                "See SOURCE.md.",
        "special_token_ids": ids, "tied": tied,
        "released": {"num_tensors": len(released), "num_elements": numel(released), "keys": released},
    }
    for name, prefix in COMPONENTS:
        part = {k: v for k, v in state.items() if k.startswith(prefix)}
        manifest[name] = {"prefix": prefix, "num_tensors": len(part), "num_elements": numel(part), "keys": part}
    out.write_text(json.dumps(manifest, indent=0) + "\n")
    sections = {k: v for k, v in manifest.items() if isinstance(v, dict) and "keys" in v}
    print({k: (v["num_tensors"], v["num_elements"]) for k, v in sections.items()})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
