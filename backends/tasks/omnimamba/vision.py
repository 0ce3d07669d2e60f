"""OmniMamba's understanding encoders on transformers' classes: DINOv2-L/14 with 4 registers and SigLIP-SO400M/14 at
384 px, their second-to-last blocks' patch features concatenated (27 x 27 = 729 tokens of 1024 + 1152 channels).

The authors (Cobra's ``DinoSigLIPViTBackbone``, "dinosiglip-vit-so-384px", resize strategy "resize-naive") use timm
``vit_large_patch14_reg4_dinov2.lvd142m`` and ``vit_so400m_patch14_siglip_384`` with ``img_size=384``; here the same
released weights load as ``Dinov2WithRegistersModel`` (``facebook/dinov2-with-registers-large``) and
``SiglipVisionModel`` (``google/siglip-so400m-patch14-384``). Two facts keep the features the ones OmniMamba was
trained on:

* timm resamples DINOv2's 37 x 37 position grid to 27 x 27 once at load (bicubic, antialiased); transformers does the
  same interpolation at run time (``interpolate_pos_encoding``: bicubic, antialias, float32);
* timm 0.9.10 (the authors' pin) builds this SigLIP with exact GELU where big_vision and transformers use the tanh
  approximation, so the tower loads with ``hidden_act="gelu"``.

Preprocessing is timm's eval transform under "resize-naive": a bicubic resize to 384 x 384 (PIL, as torchvision's
``Resize`` does on PIL images), then ImageNet mean/std for DINOv2 and 0.5/0.5 for SigLIP.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

IMAGE_SIZE = 384
DINO_MEAN, DINO_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
SIGLIP_MEAN, SIGLIP_STD = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
SIGLIP_ACT = "gelu"  # timm 0.9.10's nn.GELU (see the module docstring)


def pixels(image: Image.Image, mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """(3, 384, 384) float32: the RGB image resized bicubically to 384 x 384 and normalised."""
    resized = image.convert("RGB").resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BICUBIC)
    x = np.asarray(resized, dtype=np.float32) / 255.0
    return ((x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)).transpose(2, 0, 1)


def load_towers(dino_source: str, siglip_source: str, kwargs: dict[str, Any], dtype: Any, device: str) -> Any:
    """``(dino, siglip)`` through ``from_pretrained`` (``kwargs``: revision, local_files_only...), on ``device``."""
    from transformers import Dinov2WithRegistersModel, SiglipVisionModel

    dino = Dinov2WithRegistersModel.from_pretrained(dino_source, dtype=dtype, **kwargs)
    siglip = SiglipVisionModel.from_pretrained(siglip_source, dtype=dtype, hidden_act=SIGLIP_ACT, **kwargs)
    return dino.to(device).eval(), siglip.to(device).eval()


def penultimate_patches(embeddings: Any, layers: Any, x: Any, prefix_tokens: int) -> Any:
    """Run ``embeddings`` and all but the last of ``layers``; drop the ``prefix_tokens`` (class and registers).

    timm's ``get_intermediate_layers(n={depth - 2})`` returns exactly this block's output, without the final norm;
    the last block, the final norm and SigLIP's pooling head are loaded (the file has them) but never run.
    """
    hidden = embeddings(x)
    for layer in list(layers)[:-1]:
        hidden = layer(hidden, None)
    return hidden[:, prefix_tokens:]


def features(dino: Any, siglip: Any, image: Image.Image) -> Any:
    """(1, 729, dino width + siglip width) patch features of one image."""
    import torch

    param = next(dino.parameters())
    to = {"device": param.device, "dtype": param.dtype}
    dino_x = torch.from_numpy(pixels(image, DINO_MEAN, DINO_STD))[None].to(**to)
    siglip_x = torch.from_numpy(pixels(image, SIGLIP_MEAN, SIGLIP_STD))[None].to(**to)
    prefix = 1 + int(dino.config.num_register_tokens)  # class token + registers
    a = penultimate_patches(dino.embeddings, dino.encoder.layer, dino_x, prefix)  # (1, 729, 1024)
    vision = siglip.vision_model if hasattr(siglip, "vision_model") else siglip
    b = penultimate_patches(vision.embeddings, vision.encoder.layers, siglip_x, 0)  # (1, 729, 1152)
    return torch.cat([a, b], dim=2)
