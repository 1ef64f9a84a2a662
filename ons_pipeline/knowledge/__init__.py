"""The knowledge base of ONS concepts (Markdown with TOML front matter), shipped as package data.

See :mod:`ons_pipeline.lib.rag.knowledge` for the format.
"""

from pathlib import Path

KNOWLEDGE_DIR = Path(__file__).resolve().parent
