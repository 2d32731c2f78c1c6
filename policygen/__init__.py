"""policygen: privacy policies for many organisations, from facts and a clause library."""

from __future__ import annotations

__version__ = "0.1.0"
