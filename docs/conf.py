"""Sphinx configuration: the API reference from the docstrings (NumPy style, napoleon), the
tutorial (the README) and the theory notes, built by ``make docs`` with warnings as errors."""

import os
import sys

sys.path.insert(0, os.path.abspath("../src"))

project = "wilsonian"
author = "the wilsonian developers"
from wilsonian import __version__ as release  # noqa: E402

version = release
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_ivar = True  # dataclass attributes as fields, not duplicate objects
napoleon_use_rtype = False
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the docstrings say the shapes and conventions
myst_heading_anchors = 3
# The README links to THEORY.md beside the repository and to files of the source tree.
suppress_warnings = ["myst.xref_missing", "myst.header"]
html_theme = "alabaster"
html_title = f"wilsonian {release}"


# The docstrings are written for people reading the source: plain text with mathematics
# such as λ_> and |K − Kᵀ|, which reStructuredText would read as link targets and
# substitutions. Escape those two constructs before napoleon and docutils see them.
import re  # noqa: E402

_TRAILING_UNDERSCORE = re.compile(r"(?<=[^\s_`*])_(?=[\s>)\],.;:!?'’]|$)")
_BAR = re.compile(r"(?<![|\\`])\|(?!\|)")


def _escape(app, what, name, obj, options, lines):
    literal = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.endswith("::") or stripped.startswith(">>>"):
            literal = True
            continue
        if literal and stripped and not line.startswith((" ", "\t")):
            literal = False
        if literal:
            continue
        parts = line.split("``")  # escape outside inline literals only
        for j in range(0, len(parts), 2):
            parts[j] = _BAR.sub(r"\\|", _TRAILING_UNDERSCORE.sub(r"\\_", parts[j]))
        lines[i] = "``".join(parts)


def setup(app):
    app.connect("autodoc-process-docstring", _escape)
