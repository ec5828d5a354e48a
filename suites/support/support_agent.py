"""A small rule-based customer-support agent (no model, no cloud) that really calls its tools.

It stands in for your own agent: agenteval calls `answer(messages, toolbox)` for each user turn; the
agent reads the conversation, calls tools through `toolbox.call(name, args)` (each call is recorded in
the trace with its result), and returns its reply.
"""

from __future__ import annotations

import re
from typing import Any


def _order_id(messages: list[dict[str, Any]]) -> str | None:
    for m in reversed(messages):
        if m["role"] == "user":
            found = re.search(r"\b(\d{4})\b", m["content"])
            if found:
                return found.group(1)
    return None


def answer(messages: list[dict[str, Any]], toolbox: Any) -> str:
    text = messages[-1]["content"].lower()
    order_id = _order_id(messages)
    if order_id is None:
        return "Could you tell me your order number?"
    try:
        order = toolbox.call("lookup_order", {"order_id": order_id})
    except Exception as exc:  # the toolbox raises ToolError for failed calls
        return f"Sorry, I could not find order {order_id} ({exc})."
    if "cancel" in text:
        if order["status"] != "processing":
            return f"Order {order_id} is already {order['status']}, so it can no longer be cancelled."
        toolbox.call("cancel_order", {"order_id": order_id, "reason": "customer request"})
        return f"Order {order_id} is cancelled."
    if "address" in text:
        new = re.search(r"\bto (.+?)\.?$", messages[-1]["content"])
        if new is None:
            return "What is the new address?"
        result = toolbox.call("update_address", {"order_id": order_id, "address": new.group(1)})
        return (f"The address of order {order_id} is now {new.group(1)}." if result["ok"]
                else f"Sorry: {result['error']}.")
    if "refund" in text:
        result = toolbox.call("refund_order", {"order_id": order_id})
        return (f"Refunded {result['amount']:.2f} for order {order_id}." if result["ok"]
                else f"Sorry: {result['error']}.")
    return f"Order {order_id} is {order['status']} (items: {', '.join(order['items'])})."
