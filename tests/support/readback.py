"""Reading printed output back with tools independent of the kiosk: poppler (pdftotext, pdftoppm) and zbar."""

from __future__ import annotations

import subprocess
from pathlib import Path


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True, timeout=120).stdout


def pdf_to_png(pdf: Path, out_stem: Path, dpi: int = 150, size: tuple[int, int] | None = None) -> Path:
    """First page as PNG (`out_stem`.png); `size` (width, height in pixels) crops from the top left corner."""
    crop = ["-x", "0", "-y", "0", "-W", str(size[0]), "-H", str(size[1])] if size else []
    subprocess.run(["pdftoppm", "-png", "-gray", "-r", str(dpi), *crop, "-singlefile", str(pdf), str(out_stem)],
                   check=True, timeout=120)
    return out_stem.with_suffix(".png")


def qr_codes(image: Path) -> list[str]:
    """Every QR code zbarimg finds in `image`, decoded (zbarimg exits 4 when it finds none)."""
    done = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(image)],
                          check=False, capture_output=True, text=True, timeout=120)
    if done.returncode not in (0, 4):
        raise RuntimeError(f"zbarimg failed ({done.returncode}): {done.stderr}")
    return [line for line in done.stdout.splitlines() if line]
