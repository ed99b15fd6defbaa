"""The workflows that write: record a decision, open a case, apply an event to a case, erase a
case's personal data. Each is one store transaction (decision entry, case row, obligations and
sealed personal data together or not at all); events use optimistic concurrency on the case
row's version, retried a bounded number of times, so no lock can deadlock across processes.
With an `Idempotency-Key` (`service.idempotency`) a write also remembers its response, in its
own transaction. Each write has an `_async` twin that awaits the store's writer from an event
loop. `service.ids` makes the random ids of decisions, cases and requests.
"""

from service.idempotency import AlreadyClaimed, Once, remembered
from service.workflows import CaseNotFound, NothingToErase, Workflows

__all__ = ["AlreadyClaimed", "CaseNotFound", "NothingToErase", "Once", "Workflows", "remembered"]
