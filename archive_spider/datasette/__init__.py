"""Datasette support: metadata for a browsable archive and a small render plugin."""

from pathlib import Path

METADATA = Path(__file__).parent / "metadata.json"
