"""The bundled snapshot: a real capture of the Netflix TechBlog homepage.

The capture shows relative and yearless dates ("2d ago", "Oct 24"). Its newest dated card
is "Oct 24" and its newest post is "2d ago", so it was taken some days after 2025-10-24;
the day is not recorded. `CAPTURE_AS_OF` is our estimate: 2025-11-06, two days after the
newest post ("Supercharging the ML and AI Development Experience at Netflix") appeared.
"""

from __future__ import annotations

from pathlib import Path

CAPTURE_NAME = "netflixtechblog-home.md"
CAPTURE_AS_OF = "2025-11-06"


def capture_path() -> Path:
    """The capture inside an installed package, else in a source checkout's data/."""
    here = Path(__file__).resolve().parent
    for folder in (here / "snapshot", here.parent / "data"):
        if (folder / CAPTURE_NAME).is_file():
            return folder / CAPTURE_NAME
    raise FileNotFoundError(f"the bundled snapshot {CAPTURE_NAME} is missing from this install")
