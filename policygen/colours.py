"""Colour contrast as WCAG 2 measures it, for #rrggbb colours: a tenant's accent must read on white
(facts), and the snippets adjust it to read on their light and dark backgrounds (snippets)."""

from __future__ import annotations


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a #rrggbb colour: 0 for black, 1 for white."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours, from 1 to 21."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)
