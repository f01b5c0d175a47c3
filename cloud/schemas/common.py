"""Field types shared by the schemas: bounded strings and ids (so fuzzed input gets 422, never a 500)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]
ShortText = Annotated[str, StringConstraints(max_length=100, pattern=r"^[^\x00]*$")]
Text = Annotated[str, StringConstraints(max_length=20_000, pattern=r"^[^\x00]*$")]
Id = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
SmallInt = Annotated[int, Field(ge=0, le=2**31 - 1)]
JsonDict = dict[str, Any]


class Public(BaseModel):
    """Base of every response model: built from ORM rows."""

    model_config = ConfigDict(from_attributes=True)


class Created(Public):
    id: str
    created_at: datetime


class Deleted(BaseModel):
    id: str
    deleted: bool = True
