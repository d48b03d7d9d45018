"""How fresh a city's data is: the newest dated record behind its score, judged at the index date.

Pure: the age is measured against the index date (never the clock), so a card's freshness,
like its score, is a function of the events, the methodology and the index date alone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from shared.contract.methodology import Methodology


def last_data_at(indicators: dict[str, dict[str, Any]], projects: dict[str, dict[str, Any]],
                 methodology: Methodology) -> str | None:
    """Return the newest occurred_at among the scored observations and the project records.

    Observations of indicators the methodology does not score are ignored; every project
    record counts, a removal included, since it changes the derived adoption measures.
    """
    stamps = [e["at"] for code, e in indicators.items()
              if methodology.has_indicator(code) and methodology.indicator(code).derived is None]
    stamps += [e["at"] for e in projects.values()]
    if not stamps:
        return None
    # Compare as instants and report in UTC: feeds may write other offsets.
    return max(datetime.fromisoformat(s).astimezone(UTC) for s in stamps).isoformat()


def is_stale(last_at: str | None, index_date: date, stale_after_days: int) -> bool:
    """Tell whether the newest data is more than stale_after_days older than the index date.

    A city with no dated data at all is stale: nothing vouches for it being current.
    """
    if last_at is None:
        return True
    day = datetime.fromisoformat(last_at).astimezone(UTC).date()
    return (index_date - day).days > stale_after_days
