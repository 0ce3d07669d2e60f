from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from backends.core import imaging
from backends.core.errors import InvalidInput
from backends.core.recipe import Recipe


def recipe(**changes) -> Recipe:
    data = dict(model="t2i/kolors", name="Kolors", repo_id="Kwai-Kolors/Kolors-diffusers", revision="abc123",
                profile="real", pipeline="KolorsPipeline", scheduler="EulerDiscreteScheduler", seed=42, steps=50,
                guidance=5.0, guidance_param="guidance_scale", width=64, height=48,
                prompt="一张中秋节海报，中间写着「花好月圆」, with a \"moon\"", negative_prompt="模糊, blurry",
                language="mixed", quoted_text=["花好月圆", "moon"], device="cuda", dtype="float16", run_seconds=1.5)
    data.update(changes)
    return Recipe(**data)


def png(image: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=kwargs.pop("format", "PNG"), **kwargs)
    return buffer.getvalue()


def test_png_recipe_round_trip(tmp_path) -> None:
    image = Image.new("RGB", (64, 48), (10, 20, 30))
    path = imaging.save_png(image, recipe(), tmp_path / "a" / "out.png")
    assert imaging.read_recipe(path) == recipe().to_dict()
    assert Recipe.from_dict(imaging.read_recipe(path)) == recipe()
    reopened = Image.open(path)
    assert reopened.size == (64, 48) and np.array_equal(np.asarray(reopened), np.asarray(image))
    parameters = reopened.info["parameters"]
    lines = parameters.split("\n")
    assert lines[0] == recipe().prompt
    assert lines[1] == "Negative prompt: 模糊, blurry"
    assert "Steps: 50" in lines[2] and "Seed: 42" in lines[2] and "Size: 64x48" in lines[2]
    assert "Model: t2i/kolors" in lines[2] and "CFG scale: 5.0" in lines[2]


def test_tiny_recipes_say_random_weights() -> None:
    text = imaging.format_parameters(recipe(profile="tiny"))
    assert "Weights: random-weight miniature" in text
    info = Image.open(io.BytesIO(imaging.png_bytes(Image.new("RGB", (8, 8)), recipe(profile="tiny")))).info
    assert json.loads(info["studio_recipe"])["random_weights"] is True


def test_read_recipe_of_a_plain_png_is_none() -> None:
    assert imaging.read_recipe(png(Image.new("RGB", (4, 4)))) is None


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "L", "1", "CMYK", "I;16", "I", "F", "YCbCr"])
def test_every_mode_becomes_rgb(mode: str) -> None:
    image = Image.new("RGB", (40, 30), (200, 100, 50)).convert(mode)
    out = imaging.load_image(image)
    assert out.mode == "RGB" and out.size == (40, 30)


def test_transparency_is_composited_on_white() -> None:
    image = Image.new("RGBA", (20, 20), (255, 0, 0, 0))
    assert imaging.load_image(image).getpixel((5, 5)) == (255, 255, 255)


def test_sixteen_bit_is_rescaled_not_clipped() -> None:
    data = np.full((20, 20), 65535, dtype=np.uint16)
    out = imaging.load_image(Image.fromarray(data))
    assert out.getpixel((0, 0)) == (255, 255, 255)
    data[:] = 32768
    assert imaging.load_image(Image.fromarray(data)).getpixel((0, 0))[0] in (127, 128)


def test_exif_orientation_is_applied() -> None:
    image = Image.new("RGB", (40, 20), "red")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    out = imaging.load_image(png(image, format="JPEG", exif=exif))
    assert out.size == (20, 40)


def test_arrays_and_paths(tmp_path) -> None:
    assert imaging.load_image(np.zeros((20, 30, 3), np.uint8)).size == (30, 20)
    assert imaging.load_image(np.ones((20, 30), np.float32)).getpixel((0, 0)) == (255, 255, 255)
    path = tmp_path / "x.png"
    path.write_bytes(png(Image.new("RGB", (20, 20))))
    assert imaging.load_image(path).size == (20, 20)


@pytest.mark.parametrize(
    "source, message",
    [
        (None, "image: no image was given"),
        (b"not an image at all", "not an image format"),
        ("/nonexistent/file.png", "does not exist"),
        (Image.new("RGB", (8, 8)), "smaller than 16"),
        (Image.new("RGB", (2000, 100)), "aspect ratio beyond 1:10"),
        (np.zeros((4, 4, 2), np.uint8), "shape"),
        (np.full((20, 20), np.nan), "NaN"),
        (12, "expected an image"),
    ],
)
def test_bad_images_are_clear_errors(source, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        imaging.load_image(source)


def test_truncated_file_is_an_error() -> None:
    data = png(Image.effect_noise((64, 64), 50).convert("RGB"))
    with pytest.raises(InvalidInput, match="corrupt or truncated|could not be decoded"):
        imaging.load_image(data[: len(data) // 2])


def test_decompression_bomb_is_refused_before_decoding() -> None:
    header_only = png(Image.new("L", (9000, 9000)))  # compresses to a few KB
    with pytest.raises(InvalidInput, match="more than"):
        imaging.load_image(header_only, max_pixels=10_000_000)


def test_labelled_grid() -> None:
    grid = imaging.labelled_grid([Image.new("RGB", (64, 64)), Image.new("RGB", (32, 64))], ["a", "b"])
    assert grid.height > 64 and grid.width == 128
    with pytest.raises(ValueError):
        imaging.labelled_grid([Image.new("RGB", (4, 4))], [])


def test_output_folders_are_unguessable_and_keep_their_readable_name(tmp_path, monkeypatch) -> None:
    """Batch, pool and dataset folders are served like images: two in the same second get different random parts
    (nothing a stranger could enumerate), under the date, with the readable name last."""
    monkeypatch.setattr(imaging.time, "strftime", lambda fmt: "2025-01-02" if "-%m-" in fmt else "20250102-030405")
    first, second = (imaging.output_folder(tmp_path / "tryon" / "pools", "20250102-030405") for _ in range(2))
    assert first != second and first.name == second.name == "20250102-030405"
    for folder in (first, second):
        date, random_part = folder.parent.parent, folder.parent
        assert date == tmp_path / "tryon" / "pools" / "2025-01-02"
        assert len(random_part.name) >= 16 and "20250102" not in random_part.name  # 96 random bits, no time stamp
    assert imaging.output_folder(tmp_path, "my-triples").name == "my-triples"
    for bad in ("", ".", "..", "a/b", "../x", "a\\b"):
        with pytest.raises(ValueError, match="plain folder name"):
            imaging.output_folder(tmp_path, bad)
