"""What every report shares: number formatting, markdown tables, and a font that draws Chinese."""
from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"  # shipped by mplfonts (MIT package; the font is OFL-1.1)


def fmt(value) -> str:
    """Floats to 3 decimals, lists as ``[a, b]``, NaN/None as ``–``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(fmt(v) for v in value) + "]"
    if isinstance(value, (float, np.floating)):
        return f"{value:.3f}"
    return str(value)


def markdown_table(frame: pd.DataFrame) -> str:
    """A DataFrame as a GitHub markdown table (floats to 3 decimals, NaN/None as –)."""
    index_name = " / ".join(n for n in frame.index.names if n) or ""
    header = [index_name, *map(str, frame.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for key, *values in frame.itertuples(name=None):  # itertuples keeps each column's type (ints stay ints)
        key = " / ".join(map(str, key)) if isinstance(key, tuple) else str(key)
        lines.append("| " + " | ".join([key, *(fmt(v) for v in values)]) + " |")
    return "\n".join(lines)


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """Register Noto Sans CJK SC (from the ``mplfonts`` package) with matplotlib and return its family
    name, so that plots show Chinese agency names and labels instead of empty boxes."""
    import mplfonts
    from matplotlib import font_manager

    path = Path(mplfonts.__file__).parent / "fonts" / CJK_FONT_FILE
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def new_figure(**kwargs):
    """A matplotlib ``Figure`` (object API: no pyplot state, no display) whose text can be Chinese."""
    from matplotlib import rcParams
    from matplotlib.figure import Figure

    family = cjk_font()
    if family not in rcParams["font.sans-serif"]:
        rcParams["font.sans-serif"] = [family, *rcParams["font.sans-serif"]]
    return Figure(**kwargs)
