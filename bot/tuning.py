"""Tuned weights and thresholds, in one place, each with the measurement behind it.

They are set on the `dev` half of eval/qa.jsonl only (see eval/README or the
eval report); the `test` half is never used to choose them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Attribution:
    """bot.attribute: when a passage supports an answer sentence."""

    # Names and numbers are the strongest evidence across languages; content
    # words only help when the answer is in the passages' language.
    name_weight: float = 1.0
    overlap_weight: float = 0.5
    # e5 similarities of any two texts sit in ~0.72-0.92. Below the floor a
    # passage is unrelated; above `sim_support` it says the same thing.
    sim_floor: float = 0.78
    sim_support: float = 0.86
    # A sentence stating names/numbers is supported by a passage holding at least this share of them.
    min_name_share: float = 0.5
    # Same-language answers: this share of the sentence's content words in the passage supports it.
    min_overlap: float = 0.5
    # A marker the model wrote is kept when its passage supports the sentence and
    # scores at least this share of the best passage's score.
    keep_marker_share: float = 0.8


ATTRIBUTION = Attribution()
