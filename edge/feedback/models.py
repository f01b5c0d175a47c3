"""Feedback events as validated models: what an app may record, and nothing else."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Thumbs = Literal["up", "down"]
Signal = Literal["reasked", "escalated", "clicked", "added_to_cart", "abandoned"]
SIGNALS: tuple[str, ...] = ("reasked", "escalated", "clicked", "added_to_cart", "abandoned")


class ExplicitFeedback(BaseModel):
    """What the user said about one answer; at least one field must be set."""

    model_config = ConfigDict(extra="forbid")

    trace_id: str = Field(min_length=1, max_length=128)
    thumbs: Thumbs | None = None
    rating: int | None = Field(None, ge=1, le=5)
    correction: str | None = Field(None, max_length=4000)
    chosen_product: str | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _something(self) -> ExplicitFeedback:
        if self.thumbs is None and self.rating is None and not self.correction and not self.chosen_product:
            raise ValueError("feedback needs thumbs, rating, correction or chosen_product")
        return self


class ImplicitSignal(BaseModel):
    """What the user did after an answer."""

    model_config = ConfigDict(extra="forbid")

    trace_id: str = Field(min_length=1, max_length=128)
    signal: Signal
    product_id: str | None = Field(None, max_length=200)
