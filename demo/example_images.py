"""The example prompts' pictures, drawn by the project with PIL at start-up (never downloaded): a bar chart,
a receipt, a diagram of this demo's stack, and a street-map-like scene with two marked points."""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SIZE = (640, 440)
INK, PAPER = (30, 30, 30), (255, 255, 255)


# Debian's DejaVu (accents, arrows); without it Pillow's own font, which has ASCII only
FONTS = Path("/usr/share/fonts/truetype/dejavu")


def font(size: int, mono: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = FONTS / ("DejaVuSansMono.ttf" if mono else "DejaVuSans.ttf")
    return ImageFont.truetype(str(path), size) if path.exists() else ImageFont.load_default(size=size)


def said(text: str) -> str:
    """`text`, folded to ASCII when the font at hand has nothing else."""
    if (FONTS / "DejaVuSans.ttf").exists():
        return text
    return unicodedata.normalize("NFKD", text.replace("→", "->").replace("←", "<-")).encode("ascii", "ignore").decode()


def bar_chart(d: ImageDraw.ImageDraw) -> None:
    """Monthly rainfall in Rio (mm, climate normals, rounded)."""
    months = ["Jan", "Fev", "Mar", "Abr", "Mai", "Jun", "Jul", "Ago", "Set", "Out", "Nov", "Dez"]
    mm = [137, 130, 135, 94, 69, 47, 47, 44, 53, 86, 98, 134]
    d.text((20, 14), said("Rio de Janeiro — mm"), fill=INK, font=font(22))
    d.line((50, 400, 620, 400), fill=INK, width=2)
    d.line((50, 60, 50, 400), fill=INK, width=2)
    for tick in range(0, 160, 20):
        y = 400 - tick * 2.2
        d.text((8, y - 8), str(tick), fill=INK, font=font(14))
    for i, (m, v) in enumerate(zip(months, mm, strict=True)):
        x = 62 + i * 46
        d.rectangle((x, 400 - v * 2.2, x + 32, 400), fill=(40, 110, 200))
        d.text((x + 2, 406), m, fill=INK, font=font(14))
        d.text((x + 2, 400 - v * 2.2 - 18), str(v), fill=INK, font=font(13))


def receipt(d: ImageDraw.ImageDraw) -> None:
    """A bakery receipt whose total is wrong by R$ 1,00."""
    d.rectangle((170, 10, 470, 430), fill=(250, 248, 240), outline=INK)
    lines = ["PADARIA CARIOCA", "Rua do Ouvidor, 100", "-" * 24, "2 x Pão de queijo   9,00", "1 x Café coado      6,50",
             "1 x Suco laranja    8,00", "1 x Misto quente   14,00", "-" * 24, "TOTAL        R$ 38,50", "",
             "Obrigado e volte sempre!"]  # fmt: skip
    for i, line in enumerate(lines):
        d.text((186, 30 + i * 34), said(line), fill=INK, font=font(17, mono=True))


def diagram(d: ImageDraw.ImageDraw) -> None:
    """This demo's path of a request: page -> queue -> worker -> model server, and the stream back."""
    boxes = [("Gradio", 30), ("Redis", 190), ("Celery", 350), ("SGLang", 510)]
    for name, x in boxes:
        d.rounded_rectangle((x, 170, x + 110, 250), radius=12, fill=(225, 240, 255), outline=INK, width=2)
        d.text((x + 14, 198), name, fill=INK, font=font(20))
    for (_, x), (_, nx) in itertools.pairwise(boxes):
        d.line((x + 110, 195, nx, 195), fill=INK, width=3)
        d.polygon([(nx, 195), (nx - 10, 189), (nx - 10, 201)], fill=INK)
        d.line((x + 110, 228, nx, 228), fill=(200, 90, 40), width=3)
        d.polygon([(x + 110, 228), (x + 120, 222), (x + 120, 234)], fill=(200, 90, 40))
    d.text((30, 300), said("→ job      ← tokens"), fill=INK, font=font(20))


def street_map(d: ImageDraw.ImageDraw) -> None:
    """A grid of streets by a bay, a park, and two points to walk between."""
    d.rectangle((0, 0, 640, 440), fill=(236, 232, 224))
    d.polygon([(0, 330), (260, 300), (640, 360), (640, 440), (0, 440)], fill=(150, 200, 235))
    d.rectangle((300, 110, 430, 210), fill=(150, 210, 140))
    for x in range(40, 640, 130):
        d.line((x, 0, x, 300), fill=PAPER, width=12)
    for y in range(50, 300, 100):
        d.line((0, y, 640, y), fill=PAPER, width=12)
    d.line((0, 300, 640, 330), fill=(250, 220, 120), width=16)
    for label, (x, y) in (("A", (40, 50)), ("B", (560, 250))):
        d.ellipse((x - 14, y - 14, x + 14, y + 14), fill=(210, 40, 40))
        d.text((x - 6, y - 11), label, fill=PAPER, font=font(20))
    d.text((320, 150), "Parque", fill=INK, font=font(16))
    d.text((420, 390), said("Baía"), fill=(20, 60, 120), font=font(20))


DRAWINGS: dict[str, Callable[[ImageDraw.ImageDraw], None]] = {
    "chart.png": bar_chart,
    "receipt.png": receipt,
    "diagram.png": diagram,
    "map.png": street_map,
}


def write_example_images(folder: Path) -> Path:
    """Draw every picture into `folder` (once: an existing file is kept); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, draw in DRAWINGS.items():
        path = folder / name
        if not path.exists():
            img = Image.new("RGB", SIZE, PAPER)
            draw(ImageDraw.Draw(img))
            img.save(path)
    return folder
