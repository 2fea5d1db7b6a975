"""Threadline graph: views of the store as networkx graphs, analysis, spread, exports."""

from __future__ import annotations

from .build import View, build_graph
from .errors import GraphError

__all__ = ["View", "build_graph", "GraphError"]
