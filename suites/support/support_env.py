"""An in-memory orders database: the stateful tools of the support-agent example suite.

agenteval instantiates `OrdersEnv(initial_state=...)` once per sample (and repeat); its public methods
are the tools the agent calls; `snapshot()` is the end state that `end_state_match` checks.
"""

from __future__ import annotations

import copy
from typing import Any

DEFAULT_ORDERS: dict[str, dict[str, Any]] = {
    "1001": {"status": "shipped", "items": ["kettle"], "total": 39.0, "address": "4 Elm St, Leeds"},
    "1002": {"status": "processing", "items": ["mug", "tea"], "total": 18.5, "address": "9 Oak Rd, York"},
    "1003": {"status": "processing", "items": ["lamp"], "total": 55.0, "address": "1 Pine Ave, Bath"},
    "1004": {"status": "delivered", "items": ["chair"], "total": 120.0, "address": "7 Ash Ln, Hull"},
}


class OrdersEnv:
    def __init__(self, initial_state: dict[str, Any] | None = None) -> None:
        state = copy.deepcopy(initial_state or {})
        state.setdefault("orders", copy.deepcopy(DEFAULT_ORDERS))
        state.setdefault("refunds", [])
        self.state = state

    def _order(self, order_id: str) -> dict[str, Any]:
        order = self.state["orders"].get(str(order_id))
        if order is None:
            raise KeyError(f"no order {order_id}")
        return order  # type: ignore[no-any-return]

    def lookup_order(self, order_id: str) -> dict[str, Any]:
        """Status, items, total and address of an order."""
        return {"order_id": str(order_id), **self._order(order_id)}

    def cancel_order(self, order_id: str, reason: str = "") -> dict[str, Any]:
        """Cancel an order that has not shipped yet."""
        order = self._order(order_id)
        if order["status"] != "processing":
            return {"ok": False, "error": f"order {order_id} is {order['status']} and cannot be cancelled"}
        order["status"] = "cancelled"
        order["cancel_reason"] = reason
        return {"ok": True, "status": "cancelled"}

    def update_address(self, order_id: str, address: str) -> dict[str, Any]:
        """Change the shipping address of an order that has not shipped yet."""
        order = self._order(order_id)
        if order["status"] != "processing":
            return {"ok": False, "error": f"order {order_id} is {order['status']}; the address is final"}
        order["address"] = address
        return {"ok": True, "address": address}

    def refund_order(self, order_id: str) -> dict[str, Any]:
        """Refund a delivered order in full."""
        order = self._order(order_id)
        if order["status"] != "delivered":
            return {"ok": False, "error": f"order {order_id} is {order['status']}; only delivered orders"}
        order["status"] = "refunded"
        self.state["refunds"].append({"order_id": str(order_id), "amount": order["total"]})
        return {"ok": True, "amount": order["total"]}

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy(self.state)
