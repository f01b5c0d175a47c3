"""Search filters (category, price range, stock, attribute equals) and their SQL, applied inside queries."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from frugalstack.shared.errors import ValidationError


def canon(value: Any) -> str:
    """The one string form of an attribute value, for storage and for ``attribute = value`` filters."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{float(value):g}"
    return str(value).strip().lower()


def parse_value(raw: str) -> Any:
    low = raw.strip().lower()
    if low in ("true", "yes"):
        return True
    if low in ("false", "no"):
        return False
    try:
        return float(low)
    except ValueError:
        return raw.strip()


@dataclass
class Filters:
    """Metadata constraints; every one set must hold (AND)."""

    category: str | None = None
    price_min: float | None = None
    price_max: float | None = None
    in_stock: bool | None = None
    kind: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not self.attributes and all(
            v is None for v in (self.category, self.price_min, self.price_max, self.in_stock, self.kind)
        )

    @property
    def products_only(self) -> str | None:
        """Price, stock and category constraints only make sense for products."""
        if self.kind:
            return self.kind
        if any(v is not None for v in (self.category, self.price_min, self.price_max, self.in_stock)):
            return "product"
        return "product" if self.attributes else None

    @classmethod
    def parse(cls, specs: list[str] | None) -> Filters:
        """``category=...``, ``price<=100``, ``price>=10``, ``in_stock=true``, ``kind=doc``, ``colour=red``."""
        f = cls()
        for spec in specs or []:
            for op in ("<=", ">=", "="):
                if op in spec:
                    key, raw = (s.strip() for s in spec.split(op, 1))
                    break
            else:
                raise ValidationError(f"bad filter {spec!r}", hint="use key=value, price<=N or price>=N")
            if key == "price":
                try:
                    num = float(raw)
                except ValueError:
                    raise ValidationError(f"price filter needs a number, got {raw!r}") from None
                if op == "<=":
                    f.price_max = num
                elif op == ">=":
                    f.price_min = num
                else:
                    f.price_min = f.price_max = num
            elif op != "=":
                raise ValidationError(f"only price takes <= or >=, got {spec!r}")
            elif key == "category":
                f.category = raw
            elif key == "in_stock":
                f.in_stock = bool(parse_value(raw))
            elif key == "kind":
                if raw not in ("product", "doc"):
                    raise ValidationError(f"kind must be product or doc, got {raw!r}")
                f.kind = raw
            else:
                f.attributes[key] = parse_value(raw)
        return f

    def vec_sql(self) -> tuple[str, list[Any]]:
        """Constraints for the vec0 KNN query (metadata columns; attributes through a rowid subquery)."""
        parts: list[str] = []
        args: list[Any] = []
        if self.products_only:
            parts.append("kind = ?")
            args.append(self.products_only)
        if self.category is not None:
            parts.append("category = ?")
            args.append(self.category)
        if self.price_min is not None:
            parts.append("price >= ?")
            args.append(self.price_min)
        if self.price_max is not None:
            parts.append("price <= ?")
            args.append(self.price_max)
        if self.in_stock is not None:
            parts.append("in_stock = ?")
            args.append(int(self.in_stock))
        sub, sub_args = self._attr_sql()
        if sub:
            parts.append(f"rowid IN ({sub})")
            args += sub_args
        return " AND ".join(parts), args

    def items_sql(self, alias: str = "i") -> tuple[str, list[Any]]:
        """The same constraints on the ``items`` table (for BM25 and brute-force scans)."""
        parts: list[str] = []
        args: list[Any] = []
        if self.products_only:
            parts.append(f"{alias}.kind = ?")
            args.append(self.products_only)
        if self.category is not None:
            parts.append(f"{alias}.category = ?")
            args.append(self.category)
        if self.price_min is not None:
            parts.append(f"{alias}.price >= ?")
            args.append(self.price_min)
        if self.price_max is not None:
            parts.append(f"{alias}.price <= ?")
            args.append(self.price_max)
        if self.in_stock is not None:
            parts.append(f"{alias}.in_stock = ?")
            args.append(int(self.in_stock))
        sub, sub_args = self._attr_sql()
        if sub:
            parts.append(f"{alias}.rowid IN ({sub})")
            args += sub_args
        return " AND ".join(parts), args

    def _attr_sql(self) -> tuple[str, list[Any]]:
        if not self.attributes:
            return "", []
        subs, args = [], []
        for key, value in sorted(self.attributes.items()):
            subs.append("SELECT item FROM item_attrs WHERE key = ? AND value = ?")
            args += [key, canon(value)]
        return " INTERSECT ".join(subs), args

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in json.loads(json.dumps(self.__dict__)).items() if v not in (None, {})}
