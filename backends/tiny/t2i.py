"""Random-weight miniatures of the studio's text-to-image pipelines (the offline ``tiny`` profile).

Each builder instantiates the *same* component classes as the real Hugging Face repo (named in
:data:`backends.tiny.ARCHITECTURES`) with tiny widths (hidden sizes 16-64, 1-2 layers) but the real spatial
geometry: VAE downsampling factor and transformer patch size match, so ``pipe.vae_scale_factor``, default sizes
and every size rule (multiples of 8/16/32, resolution binning, latent packing) behave as with the real weights.
The pipeline is written with ``save_pretrained`` and loaded through the same ``PipelineClass.from_pretrained(path)``
path as a downloaded model -- fully offline. The tokenizers are built in memory (:mod:`backends.tiny.tokenizers`).

:func:`backends.tiny.build_miniature` calls ``build_<arch>(out_dir, seed)`` here; torch / diffusers /
transformers are only imported inside the builders.
"""

from __future__ import annotations

import pathlib
import tempfile
from typing import Any

from backends.tiny.common import (
    FFN_DIM,
    INIT_STD,
    TEXT_DIM,
    autoencoder_kl,
    bert_encoder,
    flux_shared,
    qwen25_vl_encoder,
    save_pipeline,
    sdxl_shared,
    sdxl_unet,
    seeded,
    t5_encoder,
)
from backends.tiny.tokenizers import (
    bert_tokenizer,
    chatglm_sentencepiece,
    glm4_tokenizer,
    qwen2_tokenizer,
    t5_tokenizer,
)


def build_sd(out_dir: pathlib.Path, seed: int) -> None:
    """Taiyi-Stable-Diffusion-1B-Chinese-EN: SD-1.x UNet + Chinese BERT text encoder, PNDM scheduler.

    Real geometry kept: 4-block VAE (scale 8), 4-block UNet (3 downsamples, attention in the first three).

    Args:
        out_dir: Folder that ``save_pretrained`` writes the miniature into.
        seed: Seed for the random weights.
    """
    from diffusers import PNDMScheduler, UNet2DConditionModel

    tokenizer = bert_tokenizer(model_max_length=77)
    text_encoder = seeded(seed, bert_encoder, len(tokenizer))
    unet = seeded(
        seed, UNet2DConditionModel, sample_size=64, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=(16, 16, 32, 32), down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3, cross_attention_dim=TEXT_DIM,
        attention_head_dim=2, norm_num_groups=8,
    )
    vae = seeded(seed, autoencoder_kl, latent_channels=4, scaling_factor=0.18215, sample_size=512)
    scheduler = PNDMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", skip_prk_steps=True, steps_offset=1,
        set_alpha_to_one=False,
    )
    save_pipeline(
        "StableDiffusionPipeline", out_dir, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
        scheduler=scheduler, safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )


def build_sdxl(out_dir: pathlib.Path, seed: int) -> None:
    """SDXL base 1.0: CLIP-L + OpenCLIP-bigG (with projection), SDXL UNet, Euler scheduler, VAE scale 8.

    Args:
        out_dir: Folder that ``save_pretrained`` writes the miniature into.
        seed: Seed for the random weights.
    """
    # Cross-attention sees both encoders' hidden states concatenated; added conditioning uses the projection.
    unet = seeded(seed, sdxl_unet, cross_attention_dim=2 * TEXT_DIM, pooled_dim=TEXT_DIM)
    save_pipeline("StableDiffusionXLPipeline", out_dir, unet=unet, **sdxl_shared(seed))


def build_flux(out_dir: pathlib.Path, seed: int) -> None:
    """FLUX.1-schnell: CLIP-L (pooled) + T5 (sequence), 16-channel VAE (scale 8) and 2x2 latent packing.

    Args:
        out_dir: Folder that ``save_pretrained`` writes the miniature into.
        seed: Seed for the random weights.
    """
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxTransformer2DModel

    # patch_size=1 over 64 = 16 latent channels x 2x2 packed by the pipeline: the effective patch is 2, as in FLUX.
    transformer = seeded(
        seed, FluxTransformer2DModel, patch_size=1, in_channels=64, num_layers=1, num_single_layers=1,
        attention_head_dim=16, num_attention_heads=2, joint_attention_dim=TEXT_DIM, pooled_projection_dim=TEXT_DIM,
        guidance_embeds=False, axes_dims_rope=(4, 6, 6),
    )
    scheduler = FlowMatchEulerDiscreteScheduler(shift=1.0, use_dynamic_shifting=False)  # schnell: no shift
    save_pipeline("FluxPipeline", out_dir, scheduler=scheduler, transformer=transformer, **flux_shared(seed))


def _chatglm_encoder(config: Any) -> Any:
    """Instantiate ChatGLM with initialised weights (its defaults leave ``torch.empty`` memory behind)."""
    import torch
    from diffusers.pipelines.kolors import ChatGLMModel

    # empty_init=False gives the linear / embedding layers a real init; the RMSNorm scales are still
    # torch.empty (garbage, sometimes NaN) because ChatGLM's _init_weights is a no-op, so set them to 1.
    model = ChatGLMModel(config, empty_init=False)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("layernorm.weight"):
                param.fill_(1.0)
    return model


def build_kolors(out_dir: pathlib.Path, seed: int) -> None:
    """Kolors: ChatGLM3 text encoder + SDXL-style UNet with a ``text_proj`` from the GLM width, VAE scale 8.

    Args:
        out_dir: Folder that ``save_pretrained`` writes the miniature into.
        seed: Seed for the random weights.
    """
    from diffusers import EulerDiscreteScheduler
    from diffusers.pipelines.kolors import ChatGLMTokenizer
    from diffusers.pipelines.kolors.text_encoder import ChatGLMConfig

    with tempfile.TemporaryDirectory(prefix="tiny-chatglm-") as tmp:
        # ChatGLMTokenizer only accepts a path: the SentencePiece model trained in memory waits here until
        # save_pretrained copies it into out_dir/tokenizer.
        model_file = pathlib.Path(tmp) / "tokenizer.model"
        model_file.write_bytes(chatglm_sentencepiece())
        tokenizer = ChatGLMTokenizer(vocab_file=str(model_file))
        config = ChatGLMConfig(
            num_layers=2, padded_vocab_size=len(tokenizer), hidden_size=TEXT_DIM, ffn_hidden_size=FFN_DIM,
            kv_channels=8, num_attention_heads=4, seq_length=1024, multi_query_attention=True,
            multi_query_group_num=2, add_qkv_bias=True, rmsnorm=True, post_layer_norm=True,
            original_rope=True,  # hub configs carry it; not a constructor default, and required by the model
        )
        text_encoder = seeded(seed, _chatglm_encoder, config)
        unet = seeded(
            seed, sdxl_unet, cross_attention_dim=2 * TEXT_DIM, pooled_dim=TEXT_DIM, encoder_hid_dim=TEXT_DIM,
            encoder_hid_dim_type="text_proj",
        )
        vae = seeded(seed, autoencoder_kl, latent_channels=4, scaling_factor=0.13025, sample_size=1024)
        scheduler = EulerDiscreteScheduler(
            beta_start=0.00085, beta_end=0.014, beta_schedule="scaled_linear", num_train_timesteps=1100,
            steps_offset=1, timestep_spacing="leading", interpolation_type="linear",
        )
        save_pipeline(
            "KolorsPipeline", out_dir, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
            scheduler=scheduler, force_zeros_for_empty_prompt=False,
        )


def build_hunyuan_dit(out_dir: pathlib.Path, seed: int) -> None:
    """HunyuanDiT v1.2: bilingual BERT (77 tokens) + mT5 (256 tokens), DiT with patch 2, SDXL VAE (scale 8).

    Args:
        out_dir: Folder that ``save_pretrained`` writes the miniature into.
        seed: Seed for the random weights.
    """
    from diffusers import DDPMScheduler, HunyuanDiT2DModel

    tokenizer = bert_tokenizer(model_max_length=77)
    tokenizer_2 = t5_tokenizer()
    text_encoder = seeded(seed, bert_encoder, len(tokenizer))
    text_encoder_2 = seeded(seed, t5_encoder, len(tokenizer_2))
    transformer = seeded(
        seed, HunyuanDiT2DModel, num_attention_heads=2, attention_head_dim=16, in_channels=4, patch_size=2,
        sample_size=128, hidden_size=32, num_layers=2, learn_sigma=True, cross_attention_dim=TEXT_DIM,
        cross_attention_dim_t5=TEXT_DIM, pooled_projection_dim=TEXT_DIM, text_len=77, text_len_t5=256,
        use_style_cond_and_image_meta_size=False,  # v1.2 dropped the style / size embeddings of v1.1
    )
    vae = seeded(seed, autoencoder_kl, latent_channels=4, scaling_factor=0.13025, sample_size=1024)
    scheduler = DDPMScheduler(
        beta_start=0.00085, beta_end=0.03, beta_schedule="scaled_linear", prediction_type="v_prediction",
        clip_sample=False, steps_offset=1, timestep_spacing="leading", variance_type="fixed_small",
    )
    save_pipeline(
        "HunyuanDiTPipeline", out_dir, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
        transformer=transformer, scheduler=scheduler, safety_checker=None, feature_extractor=None,
        requires_safety_checker=False, text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2,
    )


def build_cogview4(out_dir: pathlib.Path, seed: int) -> None:
    """CogView4-6B: GLM-4 encoder (``GlmModel``), DiT with patch 2, 16-channel VAE (scale 8).

    Args:
        out_dir: Folder that ``save_pretrained`` writes the miniature into.
        seed: Seed for the random weights.
    """
    from diffusers import CogView4Transformer2DModel, FlowMatchEulerDiscreteScheduler
    from transformers import GlmConfig, GlmModel

    tokenizer = glm4_tokenizer()
    config = GlmConfig(
        vocab_size=len(tokenizer), hidden_size=TEXT_DIM, intermediate_size=FFN_DIM, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=2048,
        pad_token_id=tokenizer.pad_token_id,  # the default (151329) would be outside the tiny vocabulary
        initializer_range=INIT_STD,
    )
    text_encoder = seeded(seed, GlmModel, config)
    transformer = seeded(
        seed, CogView4Transformer2DModel, patch_size=2, in_channels=16, out_channels=16, num_layers=1,
        attention_head_dim=16, num_attention_heads=2, text_embed_dim=TEXT_DIM, time_embed_dim=16, condition_dim=8,
        pos_embed_max_size=128, sample_size=128, rope_axes_dim=(256, 256),
    )
    vae = seeded(
        seed, autoencoder_kl, latent_channels=16, scaling_factor=1.0, sample_size=1024, use_quant_conv=False,
        use_post_quant_conv=False,
    )
    scheduler = FlowMatchEulerDiscreteScheduler(
        base_shift=0.25, max_shift=0.75, base_image_seq_len=256, use_dynamic_shifting=True, time_shift_type="linear",
    )
    save_pipeline(
        "CogView4Pipeline", out_dir, tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer,
        scheduler=scheduler,
    )


def build_qwen_image(out_dir: pathlib.Path, seed: int) -> None:
    """Qwen-Image: Qwen2.5-VL encoder, MMDiT with 2x2 packing, Wan-style causal 3D VAE (scale 8).

    Args:
        out_dir: Folder that ``save_pretrained`` writes the miniature into.
        seed: Seed for the random weights.
    """
    from diffusers import AutoencoderKLQwenImage, FlowMatchEulerDiscreteScheduler, QwenImageTransformer2DModel

    tokenizer = qwen2_tokenizer()
    text_encoder = seeded(seed, qwen25_vl_encoder, tokenizer, num_layers=2)
    transformer = seeded(
        seed, QwenImageTransformer2DModel, patch_size=2, in_channels=64, out_channels=16, num_layers=1,
        attention_head_dim=16, num_attention_heads=2, joint_attention_dim=TEXT_DIM, guidance_embeds=False,
        axes_dims_rope=(4, 6, 6),
    )
    # Three downsample stages -> vae_scale_factor 2**3 = 8 and z_dim 16 as the real VAE. base_dim 4 (real 96):
    # this VAE's causal Conv3d runs on PyTorch's slow CPU path, so its width dominates the generation time.
    vae = seeded(
        seed, AutoencoderKLQwenImage, base_dim=4, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=1,
        temperal_downsample=[False, True, True],
    )
    scheduler = FlowMatchEulerDiscreteScheduler(
        base_image_seq_len=256, base_shift=0.5, max_image_seq_len=8192, max_shift=0.9, shift=1.0,
        shift_terminal=0.02, use_dynamic_shifting=True, time_shift_type="exponential",
    )
    save_pipeline(
        "QwenImagePipeline", out_dir, scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
        transformer=transformer,
    )


def build_hunyuan_image(out_dir: pathlib.Path, seed: int) -> None:
    """HunyuanImage-2.1: Qwen2.5-VL + Glyph-ByT5, 32x VAE with patch 1, APG/CFG guiders (scale 3.5).

    Args:
        out_dir: Folder that ``save_pretrained`` writes the miniature into.
        seed: Seed for the random weights.
    """
    from diffusers import (
        AdaptiveProjectedMixGuidance,
        AutoencoderKLHunyuanImage,
        FlowMatchEulerDiscreteScheduler,
        HunyuanImageTransformer2DModel,
    )
    from transformers import ByT5Tokenizer

    tokenizer = qwen2_tokenizer()
    tokenizer_2 = ByT5Tokenizer()  # byte-level, file-free: 256 bytes + 3 specials + 125 extra ids = 384
    # The pipeline reads hidden_states[-3], so three layers leave one layer of text processing before it.
    text_encoder = seeded(seed, qwen25_vl_encoder, tokenizer, num_layers=3)
    text_encoder_2 = seeded(seed, t5_encoder, len(tokenizer_2))
    latent_channels = 16  # real: 64; GroupNorm(32) in this VAE fixes the block width at >= 32 channels
    transformer = seeded(
        seed, HunyuanImageTransformer2DModel, in_channels=latent_channels, out_channels=latent_channels,
        num_attention_heads=2, attention_head_dim=16, num_layers=1, num_single_layers=1, num_refiner_layers=1,
        patch_size=(1, 1), guidance_embeds=False, text_embed_dim=TEXT_DIM, text_embed_2_dim=TEXT_DIM,
        rope_axes_dim=(8, 8),
    )
    # Six blocks with five downsamples -> spatial_compression_ratio 32, exactly as the real 2.1 VAE.
    vae = seeded(
        seed, AutoencoderKLHunyuanImage, in_channels=3, out_channels=3, latent_channels=latent_channels,
        block_out_channels=(32,) * 6, layers_per_block=1, spatial_compression_ratio=32, sample_size=384,
        scaling_factor=0.75289,
    )
    scheduler = FlowMatchEulerDiscreteScheduler(shift=5.0, use_dynamic_shifting=False)
    # Same APG + CFG settings as the real repo's guider (guidance 3.5, APG from step 5); the OCR guider is
    # used instead whenever the prompt has quoted text for the ByT5 glyph branch.
    guider = AdaptiveProjectedMixGuidance(guidance_scale=3.5, adaptive_projected_guidance_start_step=5)
    ocr_guider = AdaptiveProjectedMixGuidance(guidance_scale=3.5, adaptive_projected_guidance_start_step=5)
    save_pipeline(
        "HunyuanImagePipeline", out_dir, scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
        text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2, transformer=transformer, guider=guider,
        ocr_guider=ocr_guider,
    )
