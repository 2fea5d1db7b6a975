"""Threadline: turn released emails into a time-aware graph of who wrote to, and invited, whom."""

__version__ = "0.1.0"
