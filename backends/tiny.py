"""Random-weight miniatures of the studio's text-to-image architectures (the offline ``tiny`` profile).

Each builder instantiates the *same* component classes as the real Hugging Face repo with tiny widths
(hidden sizes 16-64, 1-2 layers) but the real spatial geometry: VAE downsampling factor and transformer
patch size match, so ``pipe.vae_scale_factor``, default sizes and every size rule (multiples of 8/16/32,
resolution binning, latent packing) behave as with the real weights. The pipeline is written with
``save_pretrained`` and loaded through the same ``PipelineClass.from_pretrained(path)`` path as a
downloaded model -- fully offline.

Tokenizers are built in memory: byte-level BPE for CLIP / Qwen2 / GLM (every UTF-8 byte is a token, so
Chinese never maps to UNK), WordPiece / Unigram vocabularies holding the CJK block for BERT / T5, a
SentencePiece model trained on the fly with ``byte_fallback`` for ChatGLM and the file-free ByT5 tokenizer.
Nothing is downloaded, the Hugging Face cache is never read, and torch / diffusers / transformers are only
imported inside the builders, so importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import io
import pathlib
import string
import tempfile
import types
from collections.abc import Callable, Iterator, Mapping
from typing import Any

#: arch id -> diffusers pipeline class name (``getattr(diffusers, ARCHITECTURES[arch])``). Read-only, as the
#: house rules forbid module-level mutable state.
ARCHITECTURES: Mapping[str, str] = types.MappingProxyType({
    "sd": "StableDiffusionPipeline",  # IDEA-CCNL/Taiyi-Stable-Diffusion-1B-Chinese-EN-v0.1
    "sdxl": "StableDiffusionXLPipeline",  # stabilityai/stable-diffusion-xl-base-1.0
    "flux": "FluxPipeline",  # black-forest-labs/FLUX.1-schnell
    "kolors": "KolorsPipeline",  # Kwai-Kolors/Kolors-diffusers
    "hunyuan_dit": "HunyuanDiTPipeline",  # Tencent-Hunyuan/HunyuanDiT-v1.2-Diffusers
    "cogview4": "CogView4Pipeline",  # THUDM/CogView4-6B
    "qwen_image": "QwenImagePipeline",  # Qwen/Qwen-Image
    "hunyuan_image": "HunyuanImagePipeline",  # hunyuanvideo-community/HunyuanImage-2.1-Diffusers
    # Inpainting pipelines, built in backends/tiny_inpaint.py
    "sd_inpaint": "StableDiffusionInpaintPipeline",  # stable-diffusion-v1-5/stable-diffusion-inpainting
    "sdxl_inpaint": "StableDiffusionXLInpaintPipeline",  # diffusers/stable-diffusion-xl-1.0-inpainting-0.1
    "flux_fill": "FluxFillPipeline",  # black-forest-labs/FLUX.1-Fill-dev
})

#: arch id -> diffusers *model* class name for miniatures that are single models, not pipelines (built in
#: backends/tiny_autoencoders.py, saved with the model's ``save_pretrained``: load with
#: ``getattr(diffusers, MODEL_CLASSES[arch]).from_pretrained(folder)``).
MODEL_CLASSES: Mapping[str, str] = types.MappingProxyType({
    "vae_sd": "AutoencoderKL",  # stabilityai/sd-vae-ft-mse
    "vae_sdxl": "AutoencoderKL",  # madebyollin/sdxl-vae-fp16-fix
    "vae_flux": "AutoencoderKL",  # black-forest-labs/FLUX.1-schnell, subfolder vae
    "taesd": "AutoencoderTiny",  # madebyollin/taesd
    "vqgan": "VQModel",  # kandinsky-community/kandinsky-2-2-decoder, subfolder movq
})

# Small widths shared by the text encoders: big enough for multi-head attention, small enough that a
# 512x512 generation stays well under a second or two on a 2-core CPU.
_TEXT_DIM = 32
_FFN_DIM = 64
# Init std of the decoder-only LLM encoders (GLM, Qwen2.5-VL). Their default 0.02 suits trained weights; here
# it would leave the hidden states (read before the final norm) ~0.02 in size, so the prompt would barely
# change the image. 1/sqrt(width) keeps activations O(1) and makes different prompts give different images.
_INIT_STD = _TEXT_DIM**-0.5

# English words that become whole tokens in the BERT, T5, Qwen2 and GLM vocabularies (space-separated).
_ENGLISH_WORDS = (
    "a an the of and in on at with to is for by from this that it its photo picture painting poster image art "
    "cat dog bird fish horse flower tree mountain river sea lake sky sun moon star cloud city street house "
    "night day sunset red green blue yellow black white big small old new beautiful cute girl boy man woman "
    "text sign hello world style portrait landscape detailed realistic"
)
# Words of the Qwen-Image / HunyuanImage system prompt ("Describe the image by detailing the color, ...").
_QWEN_TEMPLATE_WORDS = (
    "the image by detailing color shape size texture quantity text spatial relationships of objects and background"
)

# Frequent Chinese characters (plus words used in the studio's example prompts) for the ChatGLM
# SentencePiece model; every other character still encodes through byte fallback.
_COMMON_HANZI = (
    "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事其里所去行过"
    "家十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定见只主没公从猫狗鸟鱼马花树山"
    "水河海湖云月星风雨雪画照片海报写着你好世界城市夜晚黄昏红绿蓝黑白美丽可爱女孩男孩老人风景肖像写实张幅"
)


class UnknownArchitectureError(ValueError, KeyError):
    """Raised by :func:`build_miniature` for an arch id that is not in :data:`ARCHITECTURES`.

    It is a ``ValueError`` (bad input, like the studio's ``InvalidInput``) and a ``KeyError`` (a failed
    lookup), so callers can catch either.
    """

    def __str__(self) -> str:
        # KeyError.__str__ would wrap the message in quotes; show it as a plain sentence instead.
        return str(self.args[0]) if self.args else ""


def build_miniature(arch: str, out_dir: pathlib.Path, seed: int = 0) -> None:
    """Build the random-weight miniature of ``arch`` and ``save_pretrained`` it into ``out_dir``.

    The whole pipeline is written: ``model_index.json`` plus every component (models, tokenizers,
    scheduler and, for HunyuanImage, the guiders). ``torch.manual_seed(seed)`` is called before each
    model is constructed, so the same ``(arch, seed)`` always gives the same weights.

    Args:
        arch: One of the keys of :data:`ARCHITECTURES` or :data:`MODEL_CLASSES` (a single model: ``out_dir``
            then holds its ``config.json`` and weights instead of a ``model_index.json``).
        out_dir: Target folder; created if missing.
        seed: Seed for the random weights.

    Raises:
        UnknownArchitectureError: (a ``ValueError`` and ``KeyError``) if ``arch`` is unknown.
    """
    # Imported here, not at the top: those modules import this one's helpers.
    from backends import tiny_autoencoders, tiny_inpaint

    builders: dict[str, Callable[[pathlib.Path, int], None]] = {
        "sd": _build_sd, "sdxl": _build_sdxl, "flux": _build_flux, "kolors": _build_kolors,
        "hunyuan_dit": _build_hunyuan_dit, "cogview4": _build_cogview4, "qwen_image": _build_qwen_image,
        "hunyuan_image": _build_hunyuan_image, **tiny_inpaint.BUILDERS, **tiny_autoencoders.BUILDERS,
    }
    if arch not in builders:
        raise UnknownArchitectureError(f"Unknown tiny architecture {arch!r}; expected one of {sorted(builders)}.")

    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with flushed_denormals():
        builders[arch](out_dir, seed)


@contextlib.contextmanager
def flushed_denormals(enabled: bool = True) -> Iterator[None]:
    """Flush denormal floats to zero while running a random-weight miniature, then restore the default.

    Random miniatures produce many tiny activations, and denormals make CPU kernels several times slower. The
    flag is per thread and must not stay on: TFLite's XNNPACK delegate (mediapipe's selfie segmentation) fails to
    prepare its graph on a thread that flushes denormals.
    """
    if not enabled:
        yield
        return
    import torch

    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


# --------------------------------------------------------------------------------------------------
# Shared pieces: seeding, tokenizers, VAEs
# --------------------------------------------------------------------------------------------------


def _seeded(seed: int, factory: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Return ``factory(*args, **kwargs)`` built right after ``torch.manual_seed(seed)``.

    Seeding before *each* component makes every component reproducible on its own, whatever is built before it.
    """
    import torch

    torch.manual_seed(seed)
    return factory(*args, **kwargs)


def _save(pipeline_class_name: str, out_dir: pathlib.Path, **components: Any) -> None:
    """Assemble the diffusers pipeline from ``components`` and write it with ``save_pretrained``."""
    import diffusers

    pipe = getattr(diffusers, pipeline_class_name)(**components)
    pipe.save_pretrained(out_dir, safe_serialization=True)


def _byte_alphabet() -> list[str]:
    """Return the 256 printable stand-ins for the bytes 0..255 used by byte-level BPE (GPT-2 scheme)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = {b: chr(b) for b in printable}
    shifted = 256
    for b in range(256):
        if b not in chars:
            chars[b] = chr(shifted)
            shifted += 1
    return [chars[b] for b in range(256)]


def _cjk_chars() -> list[str]:
    """CJK Unified Ideographs U+4E00..U+9FA5 (the block BERT-Chinese vocabularies are built from)."""
    return [chr(c) for c in range(0x4E00, 0x9FA6)]


def _punctuation() -> list[str]:
    """ASCII punctuation and digits plus CJK / full-width punctuation (e.g. ，。“”！), so none hit UNK."""
    cjk_punct = [chr(c) for c in range(0x3001, 0x3020)] + [chr(c) for c in range(0xFF01, 0xFF5F)]
    return [*string.punctuation, *string.digits, "“", "”", "‘", "’", "…", "—", "·", *cjk_punct]


def _clip_tokenizer(pad_token: str = "<|endoftext|>") -> Any:
    """CLIP tokenizer over a pure byte-level vocabulary (every byte, with and without ``</w>``)."""
    from transformers import CLIPTokenizer

    alphabet = _byte_alphabet()
    pieces = [*alphabet, *(c + "</w>" for c in alphabet), "<|startoftext|>", "<|endoftext|>"]
    vocab = {p: i for i, p in enumerate(pieces)}
    return CLIPTokenizer(vocab=vocab, merges=[], pad_token=pad_token, model_max_length=77)


def _bert_tokenizer(model_max_length: int) -> Any:
    """Chinese-BERT-style WordPiece tokenizer: English word pieces plus the whole CJK block."""
    from transformers import BertTokenizer

    letters = string.ascii_lowercase
    pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *letters, *(f"##{c}" for c in letters + string.digits)]
    pieces += [*_punctuation(), *_ENGLISH_WORDS.split(), *_cjk_chars()]
    vocab = {p: i for i, p in enumerate(dict.fromkeys(pieces))}
    return BertTokenizer(vocab=vocab, model_max_length=model_max_length)


def _t5_tokenizer() -> Any:
    """T5 / mT5-style Unigram tokenizer: ASCII, English words and the CJK block (no ``<extra_id_*>``)."""
    from transformers import T5Tokenizer

    # Scores are log-probabilities: prefer whole words, then single characters.
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    pieces += [(c, -4.0) for c in string.ascii_letters + "".join(_punctuation())]
    pieces += [("▁" + w, -1.0) for w in _ENGLISH_WORDS.split()]
    pieces += [(c, -5.0) for c in _cjk_chars()]
    return T5Tokenizer(vocab=list(dict(pieces).items()), extra_ids=0)


def _byte_level_bpe(specials: list[str], bare_words: tuple[str, ...] = ()) -> tuple[dict[str, int], list[Any]]:
    """Byte-level BPE vocabulary (256 bytes, then ``specials``) plus merges that form whole English words.

    Words get merge chains (``Ġ t`` -> ``Ġt``, ``Ġt h`` -> ``Ġth`` ...) so " the" is one token as in the real
    Qwen2 / GLM-4 vocabularies. Chains of space-prefixed words come first and cannot collide (``Ġ`` only
    starts a pre-token); the few ``bare_words`` (no leading space) are ranked last so they never split them.
    """
    alphabet = _byte_alphabet()
    vocab = {c: i for i, c in enumerate(alphabet)}
    vocab.update({s: 256 + i for i, s in enumerate(specials)})
    merges: dict[tuple[str, str], None] = {}  # insertion-ordered set: rank = position
    spaced = [alphabet[ord(" ")] + w for w in f"{_ENGLISH_WORDS} {_QWEN_TEMPLATE_WORDS}".split()]
    for word in spaced + list(bare_words):
        piece = word[0]
        for char in word[1:]:
            merges[(piece, char)] = None
            piece += char
            vocab.setdefault(piece, len(vocab))
    return vocab, list(merges)


def _qwen2_tokenizer() -> Any:
    """Qwen2 byte-level BPE tokenizer with the chat / vision special tokens the pipelines' templates use.

    Its merges reproduce the real token count of the Qwen-Image / HunyuanImage system prompt (34 tokens),
    so the pipelines' ``prompt_template_encode_start_idx = 34`` drops exactly the template, as with Qwen.
    """
    from transformers import Qwen2Tokenizer

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>"]
    specials += ["<|image_pad|>", "<|video_pad|>"]
    vocab, merges = _byte_level_bpe(specials, bare_words=("system", "user", "assistant", "Describe"))
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=merges)
    # Registered as special so the literal "<|im_start|>" in the prompt template stays one token.
    tokenizer.add_special_tokens({"additional_special_tokens": specials[1:]})
    return tokenizer


def _glm4_tokenizer() -> Any:
    """GLM-4 style fast tokenizer (byte-level BPE) that prepends ``[gMASK]<sop>`` like the real one."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "[gMASK]", "<sop>"]
    vocab, merges = _byte_level_bpe(specials)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.TemplateProcessing(
        single="[gMASK] <sop> $A", pair="[gMASK] <sop> $A $B", special_tokens=[(s, vocab[s]) for s in specials[1:]]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<|endoftext|>", eos_token="<|endoftext|>", padding_side="left",
        additional_special_tokens=specials[1:],
    )


def _chatglm_sentencepiece() -> bytes:
    """Train a small SentencePiece BPE model in memory; ``byte_fallback`` covers any unseen character."""
    import sentencepiece

    corpus = [_ENGLISH_WORDS, string.ascii_letters + string.digits, _COMMON_HANZI, "".join(_punctuation())]
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus * 3), model_writer=model, vocab_size=600, hard_vocab_limit=False,
        model_type="bpe", byte_fallback=True, character_coverage=1.0, num_threads=1, minloglevel=2,
    )
    return model.getvalue()


def _autoencoder_kl(latent_channels: int, scaling_factor: float, **extra: Any) -> Any:
    """SD-family ``AutoencoderKL``: 4 blocks -> 3 downsamples -> ``vae_scale_factor`` 8, as the real VAEs."""
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=latent_channels,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 8, 8, 8), layers_per_block=1, norm_num_groups=4,
        scaling_factor=scaling_factor, **extra,
    )


def _clip_text_config(vocab_size: int, projection_dim: int = _TEXT_DIM, act: str = "quick_gelu") -> Any:
    """Tiny ``CLIPTextConfig``; eos id = last vocab entry so the pooled token is found by id, not argmax."""
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        vocab_size=vocab_size, hidden_size=_TEXT_DIM, intermediate_size=_FFN_DIM, num_hidden_layers=2,
        num_attention_heads=2, max_position_embeddings=77, projection_dim=projection_dim, hidden_act=act,
        bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1, pad_token_id=vocab_size - 1,
    )


def _t5_encoder(vocab_size: int) -> Any:
    """Tiny ``T5EncoderModel`` (gated-GELU feed-forward like T5 v1.1 / mT5 / ByT5)."""
    from transformers import T5Config, T5EncoderModel

    return T5EncoderModel(
        T5Config(
            vocab_size=vocab_size, d_model=_TEXT_DIM, d_kv=8, d_ff=_FFN_DIM, num_layers=2, num_heads=4,
            feed_forward_proj="gated-gelu", is_encoder_decoder=False, decoder_start_token_id=0,
        )
    )


def _bert_encoder(vocab_size: int) -> Any:
    """Tiny ``BertModel`` (the Chinese CLIP-BERT text tower of Taiyi and HunyuanDiT)."""
    from transformers import BertConfig, BertModel

    return BertModel(
        BertConfig(
            vocab_size=vocab_size, hidden_size=_TEXT_DIM, intermediate_size=_FFN_DIM, num_hidden_layers=2,
            num_attention_heads=2, max_position_embeddings=512,
        )
    )


def _qwen25_vl_encoder(tokenizer: Any, num_layers: int) -> Any:
    """Tiny ``Qwen2_5_VLForConditionalGeneration`` whose special-token ids point into the tiny vocabulary."""
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    ids = tokenizer.convert_tokens_to_ids
    text_config = {
        "vocab_size": len(tokenizer), "hidden_size": _TEXT_DIM, "intermediate_size": _FFN_DIM,
        "num_hidden_layers": num_layers, "num_attention_heads": 2, "num_key_value_heads": 1,
        "max_position_embeddings": 2048, "initializer_range": _INIT_STD,
        "bos_token_id": ids("<|endoftext|>"), "eos_token_id": ids("<|im_end|>"), "pad_token_id": ids("<|endoftext|>"),
        # mrope sections split head_dim / 2 = 8 rotary frequencies over (time, height, width) like the real 16/24/24.
        "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [2, 3, 3]},
    }
    vision_config = {
        "depth": 1, "hidden_size": 16, "intermediate_size": 32, "num_heads": 2, "out_hidden_size": _TEXT_DIM,
        "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2, "fullatt_block_indexes": [0],
    }
    config = Qwen2_5_VLConfig(
        text_config=text_config, vision_config=vision_config, vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"), image_token_id=ids("<|image_pad|>"),
        video_token_id=ids("<|video_pad|>"),
    )
    return Qwen2_5_VLForConditionalGeneration(config)


# --------------------------------------------------------------------------------------------------
# One builder per architecture
# --------------------------------------------------------------------------------------------------


def _build_sd(out_dir: pathlib.Path, seed: int) -> None:
    """Taiyi-Stable-Diffusion-1B-Chinese-EN: SD-1.x UNet + Chinese BERT text encoder, PNDM scheduler.

    Real geometry kept: 4-block VAE (scale 8), 4-block UNet (3 downsamples, attention in the first three).
    """
    from diffusers import PNDMScheduler, UNet2DConditionModel

    tokenizer = _bert_tokenizer(model_max_length=77)
    text_encoder = _seeded(seed, _bert_encoder, len(tokenizer))
    unet = _seeded(
        seed, UNet2DConditionModel, sample_size=64, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=(16, 16, 32, 32), down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3, cross_attention_dim=_TEXT_DIM,
        attention_head_dim=2, norm_num_groups=8,
    )
    vae = _seeded(seed, _autoencoder_kl, latent_channels=4, scaling_factor=0.18215, sample_size=512)
    scheduler = PNDMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", skip_prk_steps=True, steps_offset=1,
        set_alpha_to_one=False,
    )
    _save(
        "StableDiffusionPipeline", out_dir, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
        scheduler=scheduler, safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )


def _sdxl_unet(cross_attention_dim: int, pooled_dim: int, **extra: Any) -> Any:
    """SDXL-style UNet (also Kolors'): 3 blocks, attention in the lower two, ``text_time`` added conditioning."""
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


def _sdxl_shared(seed: int) -> dict[str, Any]:
    """What SDXL base and SDXL inpainting share: both CLIP tokenizers and encoders, the VAE and the scheduler."""
    from diffusers import EulerDiscreteScheduler
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    tokenizer = _clip_tokenizer()
    tokenizer_2 = _clip_tokenizer(pad_token="!")  # the real tokenizer_2 pads with "!" (id 0)
    return {
        "tokenizer": tokenizer,
        "tokenizer_2": tokenizer_2,
        "text_encoder": _seeded(seed, CLIPTextModel, _clip_text_config(len(tokenizer))),
        "text_encoder_2": _seeded(seed, CLIPTextModelWithProjection, _clip_text_config(len(tokenizer_2),
                                                                                       act="gelu")),
        "vae": _seeded(seed, _autoencoder_kl, latent_channels=4, scaling_factor=0.13025, sample_size=1024,
                       force_upcast=True),
        "scheduler": EulerDiscreteScheduler(
            beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1,
            timestep_spacing="leading", interpolation_type="linear", use_karras_sigmas=False,
        ),
    }


def _build_sdxl(out_dir: pathlib.Path, seed: int) -> None:
    """SDXL base 1.0: CLIP-L + OpenCLIP-bigG (with projection), SDXL UNet, Euler scheduler, VAE scale 8."""
    # Cross-attention sees both encoders' hidden states concatenated; added conditioning uses the projection.
    unet = _seeded(seed, _sdxl_unet, cross_attention_dim=2 * _TEXT_DIM, pooled_dim=_TEXT_DIM)
    _save("StableDiffusionXLPipeline", out_dir, unet=unet, **_sdxl_shared(seed))


def _build_flux(out_dir: pathlib.Path, seed: int) -> None:
    """FLUX.1-schnell: CLIP-L (pooled) + T5 (sequence), 16-channel VAE (scale 8) and 2x2 latent packing."""
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxTransformer2DModel
    from transformers import CLIPTextModel

    tokenizer = _clip_tokenizer()
    tokenizer_2 = _t5_tokenizer()
    text_encoder = _seeded(seed, CLIPTextModel, _clip_text_config(len(tokenizer)))
    text_encoder_2 = _seeded(seed, _t5_encoder, len(tokenizer_2))
    # patch_size=1 over 64 = 16 latent channels x 2x2 packed by the pipeline: the effective patch is 2, as in FLUX.
    transformer = _seeded(
        seed, FluxTransformer2DModel, patch_size=1, in_channels=64, num_layers=1, num_single_layers=1,
        attention_head_dim=16, num_attention_heads=2, joint_attention_dim=_TEXT_DIM, pooled_projection_dim=_TEXT_DIM,
        guidance_embeds=False, axes_dims_rope=(4, 6, 6),
    )
    vae = _seeded(
        seed, _autoencoder_kl, latent_channels=16, scaling_factor=0.3611, shift_factor=0.1159, sample_size=1024,
        use_quant_conv=False, use_post_quant_conv=False,
    )
    scheduler = FlowMatchEulerDiscreteScheduler(shift=1.0, use_dynamic_shifting=False)  # schnell: no shift
    _save(
        "FluxPipeline", out_dir, scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
        text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2, transformer=transformer,
    )


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


def _build_kolors(out_dir: pathlib.Path, seed: int) -> None:
    """Kolors: ChatGLM3 text encoder + SDXL-style UNet with a ``text_proj`` from the GLM width, VAE scale 8."""
    from diffusers import EulerDiscreteScheduler
    from diffusers.pipelines.kolors import ChatGLMTokenizer
    from diffusers.pipelines.kolors.text_encoder import ChatGLMConfig

    with tempfile.TemporaryDirectory(prefix="tiny-chatglm-") as tmp:
        # ChatGLMTokenizer only accepts a path: the SentencePiece model trained in memory waits here until
        # save_pretrained copies it into out_dir/tokenizer.
        model_file = pathlib.Path(tmp) / "tokenizer.model"
        model_file.write_bytes(_chatglm_sentencepiece())
        tokenizer = ChatGLMTokenizer(vocab_file=str(model_file))
        config = ChatGLMConfig(
            num_layers=2, padded_vocab_size=len(tokenizer), hidden_size=_TEXT_DIM, ffn_hidden_size=_FFN_DIM,
            kv_channels=8, num_attention_heads=4, seq_length=1024, multi_query_attention=True,
            multi_query_group_num=2, add_qkv_bias=True, rmsnorm=True, post_layer_norm=True,
            original_rope=True,  # hub configs carry it; not a constructor default, and required by the model
        )
        text_encoder = _seeded(seed, _chatglm_encoder, config)
        unet = _seeded(
            seed, _sdxl_unet, cross_attention_dim=2 * _TEXT_DIM, pooled_dim=_TEXT_DIM, encoder_hid_dim=_TEXT_DIM,
            encoder_hid_dim_type="text_proj",
        )
        vae = _seeded(seed, _autoencoder_kl, latent_channels=4, scaling_factor=0.13025, sample_size=1024)
        scheduler = EulerDiscreteScheduler(
            beta_start=0.00085, beta_end=0.014, beta_schedule="scaled_linear", num_train_timesteps=1100,
            steps_offset=1, timestep_spacing="leading", interpolation_type="linear",
        )
        _save(
            "KolorsPipeline", out_dir, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
            scheduler=scheduler, force_zeros_for_empty_prompt=False,
        )


def _build_hunyuan_dit(out_dir: pathlib.Path, seed: int) -> None:
    """HunyuanDiT v1.2: bilingual BERT (77 tokens) + mT5 (256 tokens), DiT with patch 2, SDXL VAE (scale 8)."""
    from diffusers import DDPMScheduler, HunyuanDiT2DModel

    tokenizer = _bert_tokenizer(model_max_length=77)
    tokenizer_2 = _t5_tokenizer()
    text_encoder = _seeded(seed, _bert_encoder, len(tokenizer))
    text_encoder_2 = _seeded(seed, _t5_encoder, len(tokenizer_2))
    transformer = _seeded(
        seed, HunyuanDiT2DModel, num_attention_heads=2, attention_head_dim=16, in_channels=4, patch_size=2,
        sample_size=128, hidden_size=32, num_layers=2, learn_sigma=True, cross_attention_dim=_TEXT_DIM,
        cross_attention_dim_t5=_TEXT_DIM, pooled_projection_dim=_TEXT_DIM, text_len=77, text_len_t5=256,
        use_style_cond_and_image_meta_size=False,  # v1.2 dropped the style / size embeddings of v1.1
    )
    vae = _seeded(seed, _autoencoder_kl, latent_channels=4, scaling_factor=0.13025, sample_size=1024)
    scheduler = DDPMScheduler(
        beta_start=0.00085, beta_end=0.03, beta_schedule="scaled_linear", prediction_type="v_prediction",
        clip_sample=False, steps_offset=1, timestep_spacing="leading", variance_type="fixed_small",
    )
    _save(
        "HunyuanDiTPipeline", out_dir, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
        transformer=transformer, scheduler=scheduler, safety_checker=None, feature_extractor=None,
        requires_safety_checker=False, text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2,
    )


def _build_cogview4(out_dir: pathlib.Path, seed: int) -> None:
    """CogView4-6B: GLM-4 encoder (``GlmModel``), DiT with patch 2, 16-channel VAE (scale 8)."""
    from diffusers import CogView4Transformer2DModel, FlowMatchEulerDiscreteScheduler
    from transformers import GlmConfig, GlmModel

    tokenizer = _glm4_tokenizer()
    config = GlmConfig(
        vocab_size=len(tokenizer), hidden_size=_TEXT_DIM, intermediate_size=_FFN_DIM, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=2048,
        pad_token_id=tokenizer.pad_token_id,  # the default (151329) would be outside the tiny vocabulary
        initializer_range=_INIT_STD,
    )
    text_encoder = _seeded(seed, GlmModel, config)
    transformer = _seeded(
        seed, CogView4Transformer2DModel, patch_size=2, in_channels=16, out_channels=16, num_layers=1,
        attention_head_dim=16, num_attention_heads=2, text_embed_dim=_TEXT_DIM, time_embed_dim=16, condition_dim=8,
        pos_embed_max_size=128, sample_size=128, rope_axes_dim=(256, 256),
    )
    vae = _seeded(
        seed, _autoencoder_kl, latent_channels=16, scaling_factor=1.0, sample_size=1024, use_quant_conv=False,
        use_post_quant_conv=False,
    )
    scheduler = FlowMatchEulerDiscreteScheduler(
        base_shift=0.25, max_shift=0.75, base_image_seq_len=256, use_dynamic_shifting=True, time_shift_type="linear",
    )
    _save(
        "CogView4Pipeline", out_dir, tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer,
        scheduler=scheduler,
    )


def _build_qwen_image(out_dir: pathlib.Path, seed: int) -> None:
    """Qwen-Image: Qwen2.5-VL encoder, MMDiT with 2x2 packing, Wan-style causal 3D VAE (scale 8)."""
    from diffusers import AutoencoderKLQwenImage, FlowMatchEulerDiscreteScheduler, QwenImageTransformer2DModel

    tokenizer = _qwen2_tokenizer()
    text_encoder = _seeded(seed, _qwen25_vl_encoder, tokenizer, num_layers=2)
    transformer = _seeded(
        seed, QwenImageTransformer2DModel, patch_size=2, in_channels=64, out_channels=16, num_layers=1,
        attention_head_dim=16, num_attention_heads=2, joint_attention_dim=_TEXT_DIM, guidance_embeds=False,
        axes_dims_rope=(4, 6, 6),
    )
    # Three downsample stages -> vae_scale_factor 2**3 = 8 and z_dim 16 as the real VAE. base_dim 4 (real 96):
    # this VAE's causal Conv3d runs on PyTorch's slow CPU path, so its width dominates the generation time.
    vae = _seeded(
        seed, AutoencoderKLQwenImage, base_dim=4, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=1,
        temperal_downsample=[False, True, True],
    )
    scheduler = FlowMatchEulerDiscreteScheduler(
        base_image_seq_len=256, base_shift=0.5, max_image_seq_len=8192, max_shift=0.9, shift=1.0,
        shift_terminal=0.02, use_dynamic_shifting=True, time_shift_type="exponential",
    )
    _save(
        "QwenImagePipeline", out_dir, scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
        transformer=transformer,
    )


def _build_hunyuan_image(out_dir: pathlib.Path, seed: int) -> None:
    """HunyuanImage-2.1: Qwen2.5-VL + Glyph-ByT5, 32x VAE with patch 1, APG/CFG guiders (scale 3.5)."""
    from diffusers import (
        AdaptiveProjectedMixGuidance,
        AutoencoderKLHunyuanImage,
        FlowMatchEulerDiscreteScheduler,
        HunyuanImageTransformer2DModel,
    )
    from transformers import ByT5Tokenizer

    tokenizer = _qwen2_tokenizer()
    tokenizer_2 = ByT5Tokenizer()  # byte-level, file-free: 256 bytes + 3 specials + 125 extra ids = 384
    # The pipeline reads hidden_states[-3], so three layers leave one layer of text processing before it.
    text_encoder = _seeded(seed, _qwen25_vl_encoder, tokenizer, num_layers=3)
    text_encoder_2 = _seeded(seed, _t5_encoder, len(tokenizer_2))
    latent_channels = 16  # real: 64; GroupNorm(32) in this VAE fixes the block width at >= 32 channels
    transformer = _seeded(
        seed, HunyuanImageTransformer2DModel, in_channels=latent_channels, out_channels=latent_channels,
        num_attention_heads=2, attention_head_dim=16, num_layers=1, num_single_layers=1, num_refiner_layers=1,
        patch_size=(1, 1), guidance_embeds=False, text_embed_dim=_TEXT_DIM, text_embed_2_dim=_TEXT_DIM,
        rope_axes_dim=(8, 8),
    )
    # Six blocks with five downsamples -> spatial_compression_ratio 32, exactly as the real 2.1 VAE.
    vae = _seeded(
        seed, AutoencoderKLHunyuanImage, in_channels=3, out_channels=3, latent_channels=latent_channels,
        block_out_channels=(32,) * 6, layers_per_block=1, spatial_compression_ratio=32, sample_size=384,
        scaling_factor=0.75289,
    )
    scheduler = FlowMatchEulerDiscreteScheduler(shift=5.0, use_dynamic_shifting=False)
    # Same APG + CFG settings as the real repo's guider (guidance 3.5, APG from step 5); the OCR guider is
    # used instead whenever the prompt has quoted text for the ByT5 glyph branch.
    guider = AdaptiveProjectedMixGuidance(guidance_scale=3.5, adaptive_projected_guidance_start_step=5)
    ocr_guider = AdaptiveProjectedMixGuidance(guidance_scale=3.5, adaptive_projected_guidance_start_step=5)
    _save(
        "HunyuanImagePipeline", out_dir, scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
        text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2, transformer=transformer, guider=guider,
        ocr_guider=ocr_guider,
    )
