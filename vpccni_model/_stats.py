"""``PoolStats``: ipamd's statistics snapshot of one datastore (spec 3.4).

A value of its own, below the node state, because a tick that waits on EC2 keeps the
statistics it started with (``_progress``): ipamd decides ENI frees on those stale numbers.
``pool.datastore_stats`` computes it.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class PoolStats:
    """ipamd's ``GetIPStats("4")`` snapshot of one datastore (spec 3.4).

    ``total_ips`` and ``assigned_ips`` count only CIDRs of the current mode on non-excluded ENIs;
    ``total_prefixes`` is the (drifting) prefix counter and ``free_prefixes`` counts empty /28s
    on every ENI, excluded ones included. Cooling addresses count as available (Q1).
    """

    total_ips: int
    assigned_ips: int
    cooldown_ips: int
    total_prefixes: int
    free_prefixes: int

    @property
    def available_ips(self) -> int:
        return self.total_ips - self.assigned_ips


__all__ = ["PoolStats"]
