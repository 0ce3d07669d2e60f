"""Components shared by the miniature builders: seeding, saving, the SD-family VAE, text encoders, the SDXL UNet.

Everything is the *same* class as in the real Hugging Face repos with tiny widths (hidden sizes 16-64, 1-2 layers)
but the real spatial geometry. torch / diffusers / transformers are only imported inside the functions.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

from backends.tiny.tokenizers import clip_tokenizer, t5_tokenizer

# Small widths shared by the text encoders: big enough for multi-head attention, small enough that a
# 512x512 generation stays well under a second or two on a 2-core CPU.
TEXT_DIM = 32
FFN_DIM = 64
# Init std of the decoder-only LLM encoders (GLM, Qwen2.5-VL). Their default 0.02 suits trained weights; here
# it would leave the hidden states (read before the final norm) ~0.02 in size, so the prompt would barely
# change the image. 1/sqrt(width) keeps activations O(1) and makes different prompts give different images.
INIT_STD = TEXT_DIM**-0.5


def seeded(seed: int, factory: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Return ``factory(*args, **kwargs)`` built right after ``torch.manual_seed(seed)``.

    Seeding before *each* component makes every component reproducible on its own, whatever is built before it.

    Args:
        seed: Seed for the component's random weights.
        factory: Builds the component (a model class or a function returning a model).
        *args: Positional arguments for ``factory``.
        **kwargs: Keyword arguments for ``factory``.

    Returns:
        What ``factory`` returns.
    """
    import torch

    torch.manual_seed(seed)
    return factory(*args, **kwargs)


def save_pipeline(pipeline_class_name: str, out_dir: pathlib.Path, **components: Any) -> None:
    """Assemble the diffusers pipeline from ``components`` and write it with ``save_pretrained``.

    Args:
        pipeline_class_name: The diffusers pipeline class, e.g. ``"FluxPipeline"``.
        out_dir: Target folder (gets ``model_index.json`` and one subfolder per component).
        **components: The pipeline's constructor arguments (models, tokenizers, scheduler, flags).
    """
    import diffusers

    pipe = getattr(diffusers, pipeline_class_name)(**components)
    pipe.save_pretrained(out_dir, safe_serialization=True)


def save_model(model: Any, out_dir: pathlib.Path) -> None:
    """Write a single diffusers model so that ``type(model).from_pretrained(out_dir)`` reads it back.

    Args:
        model: The diffusers model.
        out_dir: Target folder (gets ``config.json`` and ``diffusion_pytorch_model.safetensors``).
    """
    model.save_pretrained(out_dir, safe_serialization=True)


def autoencoder_kl(latent_channels: int, scaling_factor: float, **extra: Any) -> Any:
    """SD-family ``AutoencoderKL``: 4 blocks -> 3 downsamples -> ``vae_scale_factor`` 8, as the real VAEs.

    Args:
        latent_channels: 4 (SD, SDXL) or 16 (FLUX, CogView4).
        scaling_factor: The real VAE's latent scaling factor.
        **extra: Further ``AutoencoderKL`` config (``sample_size``, ``shift_factor``, ``force_upcast`` ...).

    Returns:
        The randomly initialised ``AutoencoderKL``.
    """
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=latent_channels,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 8, 8, 8), layers_per_block=1, norm_num_groups=4,
        scaling_factor=scaling_factor, **extra,
    )


def clip_text_config(vocab_size: int, projection_dim: int = TEXT_DIM, act: str = "quick_gelu") -> Any:
    """Tiny ``CLIPTextConfig``; eos id = last vocab entry so the pooled token is found by id, not argmax.

    Args:
        vocab_size: Size of the tokenizer's vocabulary (``len(tokenizer)``).
        projection_dim: Width of the text projection (``CLIPTextModelWithProjection``).
        act: Hidden activation: ``"quick_gelu"`` (OpenAI CLIP-L) or ``"gelu"`` (OpenCLIP-bigG).

    Returns:
        A ``transformers.CLIPTextConfig``.
    """
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        vocab_size=vocab_size, hidden_size=TEXT_DIM, intermediate_size=FFN_DIM, num_hidden_layers=2,
        num_attention_heads=2, max_position_embeddings=77, projection_dim=projection_dim, hidden_act=act,
        bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1, pad_token_id=vocab_size - 1,
    )


def t5_encoder(vocab_size: int) -> Any:
    """Tiny ``T5EncoderModel`` (gated-GELU feed-forward like T5 v1.1 / mT5 / ByT5).

    Args:
        vocab_size: Size of the tokenizer's vocabulary (``len(tokenizer)``).

    Returns:
        The randomly initialised ``T5EncoderModel``.
    """
    from transformers import T5Config, T5EncoderModel

    return T5EncoderModel(
        T5Config(
            vocab_size=vocab_size, d_model=TEXT_DIM, d_kv=8, d_ff=FFN_DIM, num_layers=2, num_heads=4,
            feed_forward_proj="gated-gelu", is_encoder_decoder=False, decoder_start_token_id=0,
        )
    )


def bert_encoder(vocab_size: int) -> Any:
    """Tiny ``BertModel`` (the Chinese CLIP-BERT text tower of Taiyi and HunyuanDiT).

    Args:
        vocab_size: Size of the tokenizer's vocabulary (``len(tokenizer)``).

    Returns:
        The randomly initialised ``BertModel``.
    """
    from transformers import BertConfig, BertModel

    return BertModel(
        BertConfig(
            vocab_size=vocab_size, hidden_size=TEXT_DIM, intermediate_size=FFN_DIM, num_hidden_layers=2,
            num_attention_heads=2, max_position_embeddings=512,
        )
    )


def qwen25_vl_encoder(tokenizer: Any, num_layers: int) -> Any:
    """Tiny ``Qwen2_5_VLForConditionalGeneration`` whose special-token ids point into the tiny vocabulary.

    Args:
        tokenizer: The tiny Qwen2 tokenizer (:func:`backends.tiny.tokenizers.qwen2_tokenizer`).
        num_layers: Number of decoder layers.

    Returns:
        The randomly initialised model.
    """
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    ids = tokenizer.convert_tokens_to_ids
    text_config = {
        "vocab_size": len(tokenizer), "hidden_size": TEXT_DIM, "intermediate_size": FFN_DIM,
        "num_hidden_layers": num_layers, "num_attention_heads": 2, "num_key_value_heads": 1,
        "max_position_embeddings": 2048, "initializer_range": INIT_STD,
        "bos_token_id": ids("<|endoftext|>"), "eos_token_id": ids("<|im_end|>"), "pad_token_id": ids("<|endoftext|>"),
        # mrope sections split head_dim / 2 = 8 rotary frequencies over (time, height, width) like the real 16/24/24.
        "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [2, 3, 3]},
    }
    vision_config = {
        "depth": 1, "hidden_size": 16, "intermediate_size": 32, "num_heads": 2, "out_hidden_size": TEXT_DIM,
        "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2, "fullatt_block_indexes": [0],
    }
    config = Qwen2_5_VLConfig(
        text_config=text_config, vision_config=vision_config, vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"), image_token_id=ids("<|image_pad|>"),
        video_token_id=ids("<|video_pad|>"),
    )
    return Qwen2_5_VLForConditionalGeneration(config)


def sdxl_unet(cross_attention_dim: int, pooled_dim: int, **extra: Any) -> Any:
    """SDXL-style UNet (also Kolors'): 3 blocks, attention in the lower two, ``text_time`` added conditioning.

    Args:
        cross_attention_dim: Width of the text hidden states the cross-attention reads.
        pooled_dim: Width of the pooled text embedding in the added conditioning.
        **extra: Further ``UNet2DConditionModel`` config (Kolors' ``encoder_hid_dim`` ...).

    Returns:
        The randomly initialised ``UNet2DConditionModel``.
    """
    from diffusers import UNet2DConditionModel

    time_embed_dim = 8  # real: 256; the added conditioning input is pooled text + 6 size/crop embeddings
    return UNet2DConditionModel(
        sample_size=128, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(16, 32, 32),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        transformer_layers_per_block=(1, 1, 1), attention_head_dim=(2, 2, 2), use_linear_projection=True,
        norm_num_groups=8, cross_attention_dim=cross_attention_dim, addition_embed_type="text_time",
        addition_time_embed_dim=time_embed_dim, projection_class_embeddings_input_dim=pooled_dim + 6 * time_embed_dim,
        **extra,
    )


def sdxl_shared(seed: int) -> dict[str, Any]:
    """What SDXL base and SDXL inpainting share: both CLIP tokenizers and encoders, the VAE and the scheduler.

    Args:
        seed: Seed for each model's random weights.

    Returns:
        Pipeline components by name: ``tokenizer``, ``tokenizer_2``, ``text_encoder``, ``text_encoder_2``, ``vae``
        and ``scheduler``.
    """
    from diffusers import EulerDiscreteScheduler
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    tokenizer = clip_tokenizer()
    tokenizer_2 = clip_tokenizer(pad_token="!")  # the real tokenizer_2 pads with "!" (id 0)
    return {
        "tokenizer": tokenizer,
        "tokenizer_2": tokenizer_2,
        "text_encoder": seeded(seed, CLIPTextModel, clip_text_config(len(tokenizer))),
        "text_encoder_2": seeded(seed, CLIPTextModelWithProjection, clip_text_config(len(tokenizer_2), act="gelu")),
        "vae": seeded(
            seed, autoencoder_kl, latent_channels=4, scaling_factor=0.13025, sample_size=1024, force_upcast=True
        ),
        "scheduler": EulerDiscreteScheduler(
            beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1,
            timestep_spacing="leading", interpolation_type="linear", use_karras_sigmas=False,
        ),
    }


def flux_shared(seed: int) -> dict[str, Any]:
    """What FLUX.1-schnell and FLUX.1-Fill share: CLIP-L (pooled) and T5 (sequence) with their tokenizers, and the
    16-channel VAE (scale 8, latents shifted then scaled, no quant convs).

    Args:
        seed: Seed for each model's random weights.

    Returns:
        Pipeline components by name: ``tokenizer``, ``tokenizer_2``, ``text_encoder``, ``text_encoder_2``, ``vae``.
    """
    from transformers import CLIPTextModel

    tokenizer = clip_tokenizer()
    tokenizer_2 = t5_tokenizer()
    return {
        "tokenizer": tokenizer,
        "tokenizer_2": tokenizer_2,
        "text_encoder": seeded(seed, CLIPTextModel, clip_text_config(len(tokenizer))),
        "text_encoder_2": seeded(seed, t5_encoder, len(tokenizer_2)),
        "vae": seeded(
            seed, autoencoder_kl, latent_channels=16, scaling_factor=0.3611, shift_factor=0.1159, sample_size=1024,
            use_quant_conv=False, use_post_quant_conv=False,
        ),
    }
