"""Draw the try-on tab's example garments (a T-shirt, trousers, a dress) and copy its example people.

The garments are drawn here with PIL, flat-lay style on white (and the T-shirt once more on a transparent
background, the case the studio composites on white), so they carry no third-party rights: they are the studio's own
work under its license. The people are copies of HaGRID photos from ``../shared/photos`` (CC BY-SA 4.0, attribution
kept in ``assets/examples/people/ATTRIBUTION.md``).

Run from the repository root: ``python scripts/make_garments.py`` (deterministic: same files every time).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
GARMENTS = ROOT / "assets" / "examples" / "garments"
PEOPLE = ROOT / "assets" / "examples" / "people"
PHOTOS = ROOT.parent / "shared" / "photos"
# Upper bodies and full bodies, facing the camera (chosen by looking: shoulders, hips and, for two, knees in view).
PEOPLE_PHOTOS = ("hagrid_four_06aa70cc.jpg", "hagrid_four_077fa4bf.jpg", "hagrid_four_07fdea90.jpg",
                 "hagrid_none_00af1db1.jpg")
SIZE = (512, 640)


def tshirt(transparent: bool = False) -> Image.Image:
    """A red T-shirt with white stripes and a small chest logo."""
    image = Image.new("RGBA", SIZE, (255, 255, 255, 0 if transparent else 255))
    draw = ImageDraw.Draw(image)
    body = [(150, 120), (205, 95), (307, 95), (362, 120), (470, 205), (420, 275), (370, 240), (370, 585),
            (142, 585), (142, 240), (92, 275), (42, 205)]
    draw.polygon(body, fill=(200, 30, 45, 255), outline=(120, 10, 20, 255))
    for y in range(300, 560, 56):
        draw.rectangle([143, y, 369, y + 18], fill=(245, 245, 245, 255))
    draw.chord([205, 70, 307, 130], 0, 180, fill=(255, 255, 255, 0 if transparent else 255))  # the neckline
    draw.ellipse([300, 160, 340, 200], fill=(250, 210, 40, 255), outline=(120, 10, 20, 255), width=3)
    return image


def trousers() -> Image.Image:
    """Blue jeans-like trousers with a belt line and seams."""
    image = Image.new("RGB", SIZE, "white")
    draw = ImageDraw.Draw(image)
    draw.polygon([(150, 60), (362, 60), (395, 600), (280, 600), (256, 230), (232, 600), (117, 600)],
                 fill=(40, 70, 140), outline=(20, 35, 80))
    draw.rectangle([150, 60, 362, 95], fill=(30, 50, 105))
    for x in (195, 256, 317):
        draw.rectangle([x - 6, 60, x + 6, 95], fill=(170, 140, 90))  # belt loops
    draw.line([(175, 110), (150, 590)], fill=(120, 150, 210), width=3)
    draw.line([(337, 110), (362, 590)], fill=(120, 150, 210), width=3)
    return image


def dress() -> Image.Image:
    """A green sleeveless dress with white dots and a flared skirt."""
    outline = [(190, 50), (225, 50), (256, 90), (287, 50), (322, 50), (340, 250), (450, 610), (62, 610), (172, 250)]
    fabric = Image.new("RGB", SIZE, (30, 140, 90))
    draw = ImageDraw.Draw(fabric)
    for row, y in enumerate(range(300, 600, 45)):
        for x in range(110 + (row % 2) * 22, 410, 45):
            draw.ellipse([x - 7, y - 7, x + 7, y + 7], fill=(240, 250, 240))
    draw.rectangle([170, 245, 342, 270], fill=(20, 90, 60))  # the waistband
    shape = Image.new("L", SIZE, 0)
    ImageDraw.Draw(shape).polygon(outline, fill=255)
    image = Image.composite(fabric, Image.new("RGB", SIZE, "white"), shape)
    ImageDraw.Draw(image).polygon(outline, outline=(10, 70, 40))
    return image


def main() -> int:
    """Write the garments, copy the people photos; returns a shell exit status."""
    GARMENTS.mkdir(parents=True, exist_ok=True)
    tshirt().convert("RGB").save(GARMENTS / "tshirt.png")
    tshirt(transparent=True).save(GARMENTS / "tshirt_transparent.png")
    trousers().save(GARMENTS / "trousers.png")
    dress().save(GARMENTS / "dress.png")
    PEOPLE.mkdir(parents=True, exist_ok=True)
    for name in PEOPLE_PHOTOS:
        if not (PHOTOS / name).is_file():
            print(f"missing {PHOTOS / name}: people examples not copied", file=sys.stderr)
            return 1
        shutil.copyfile(PHOTOS / name, PEOPLE / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
