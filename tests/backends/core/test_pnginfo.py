"""PNG info: the settings stored by this studio, by AUTOMATIC1111 (text chunk and JPEG EXIF) and by ComfyUI
(executed graph and editor graph) all come back as the same fields."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image, PngImagePlugin

from backends.core import imaging
from backends.core.errors import InvalidInput
from backends.core.pnginfo import from_a1111, read_settings

A1111 = ('masterpiece, a red fox in snow, "quoted, with comma"\nsecond prompt line\n'
         "Negative prompt: blurry, lowres\n"
         'Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 6.5, Seed: 1234567890, Size: 832x1216, '
         'Model hash: 31e35c80fc,'
         ' Model: sd_xl_base_1.0, Lora hashes: "fox: abc, snow: def", Version: v1.10.1')

COMFY_PROMPT = {
    "3": {"class_type": "KSampler", "inputs": {"seed": 42, "steps": 20, "cfg": 7.5, "sampler_name": "euler",
                                               "scheduler": "normal", "denoise": 1, "model": ["10", 0],
                                               "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
    "10": {"class_type": "LoraLoader", "inputs": {"model": ["4", 0], "clip": ["4", 1], "lora_name": "x.safetensors"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 1024, "height": 768, "batch_size": 1}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "一只戴着红围巾的猫", "clip": ["10", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "watermark", "clip": ["10", 1]}},
    "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0]}},
}

COMFY_WORKFLOW = {
    "nodes": [
        {"id": 3, "type": "KSampler", "widgets_values": [99, "fixed", 12, 4.0, "dpmpp_2m", "karras", 1],
         "inputs": [{"name": "model", "link": 1}, {"name": "positive", "link": 2}, {"name": "negative", "link": 3},
                    {"name": "latent_image", "link": 4}]},
        {"id": 4, "type": "CheckpointLoaderSimple", "widgets_values": ["flux1-schnell.safetensors"], "inputs": []},
        {"id": 6, "type": "CLIPTextEncode", "widgets_values": ["a lighthouse at dusk"], "inputs": []},
        {"id": 7, "type": "CLIPTextEncode", "widgets_values": [""], "inputs": []},
        {"id": 5, "type": "EmptyLatentImage", "widgets_values": [640, 960, 1], "inputs": []},
    ],
    "links": [[1, 4, 0, 3, 0, "MODEL"], [2, 6, 0, 3, 1, "CONDITIONING"], [3, 7, 0, 3, 2, "CONDITIONING"],
              [4, 5, 0, 3, 3, "LATENT"]],
}


def png_with(**chunks: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        info.add_itxt(key, value)
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "gray").save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def test_a1111_parameters() -> None:
    settings = read_settings(png_with(parameters=A1111))
    assert settings.source == "a1111"
    assert settings.prompt == 'masterpiece, a red fox in snow, "quoted, with comma"\nsecond prompt line'
    assert settings.negative_prompt == "blurry, lowres"
    assert (settings.seed, settings.steps, settings.guidance) == (1234567890, 28, 6.5)
    assert (settings.width, settings.height) == (832, 1216)
    assert settings.model == "sd_xl_base_1.0" and settings.sampler == "DPM++ 2M Karras"
    assert settings.extra["Lora hashes"] == "fox: abc, snow: def" and settings.extra["Version"] == "v1.10.1"


def test_a1111_text_without_settings_is_all_prompt() -> None:
    settings = from_a1111("just a prompt")
    assert settings.prompt == "just a prompt" and settings.seed is None


def test_a1111_parameters_in_a_jpeg_exif_comment() -> None:
    image = Image.new("RGB", (16, 16), "gray")
    exif = image.getexif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\x00" + A1111.encode("utf-16-be")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes())
    settings = read_settings(buffer.getvalue())
    assert settings.source == "a1111" and settings.seed == 1234567890 and settings.width == 832


def test_comfyui_executed_graph_through_a_lora_loader() -> None:
    settings = read_settings(png_with(prompt=json.dumps(COMFY_PROMPT), workflow=json.dumps(COMFY_WORKFLOW)))
    assert settings.source == "comfyui"
    assert settings.prompt == "一只戴着红围巾的猫" and settings.negative_prompt == "watermark"
    assert (settings.seed, settings.steps, settings.guidance) == (42, 20, 7.5)
    assert (settings.width, settings.height) == (1024, 768)
    assert settings.model == "sd_xl_base_1.0.safetensors" and settings.sampler == "euler normal"


def test_comfyui_editor_graph_alone() -> None:
    settings = read_settings(png_with(workflow=json.dumps(COMFY_WORKFLOW)))
    assert settings.source == "comfyui" and settings.prompt == "a lighthouse at dusk"
    assert (settings.seed, settings.steps, settings.guidance) == (99, 12, 4.0)
    assert (settings.width, settings.height) == (640, 960) and settings.model == "flux1-schnell.safetensors"


def test_this_studios_recipe_wins_over_its_own_parameters_chunk(tmp_path) -> None:
    recipe = {"model": "t2i/kolors", "prompt": "春天", "negative_prompt": "", "seed": 7, "steps": 30,
              "guidance": 5.0, "width": 1024, "height": 768, "scheduler": "EulerDiscreteScheduler", "name": "Kolors"}
    path = imaging.save_png(Image.new("RGB", (8, 8)), recipe, tmp_path / "out.png")
    settings = read_settings(path)
    assert settings.source == "studio" and settings.model == "t2i/kolors" and settings.prompt == "春天"
    got = (settings.seed, settings.steps, settings.guidance, settings.width, settings.height)
    assert got == (7, 30, 5.0, 1024, 768)


def test_an_image_without_settings_and_a_file_that_is_no_image() -> None:
    assert read_settings(png_with()).source == "none"
    with pytest.raises(InvalidInput, match="image: could not be read as an image"):
        read_settings(b"not an image at all")
