"""A Flower ``Grid`` that delivers each message to an in-process ClientApp: a real round, no Ray, no network.

Messages go through Flower's protobuf serialization both ways (each device decodes its own copy, and the
wire size of every message is recorded), so what a ClientApp can send is exactly what would cross a network.

It runs the exact ServerApp/strategy/ClientApp code the simulation and deployment engines run, only the
transport differs; every message in both directions is kept (``sent``/``received``) so tests can inspect
what left a device. Used by the tests and by ``frugal fl simulate --engine inprocess``.
"""

from __future__ import annotations

import traceback
import uuid
from collections.abc import Iterable
from typing import Any

from flwr.app import Context, Error, Message, RecordDict
from flwr.common.constant import SUPERLINK_NODE_ID
from flwr.common.serde import message_from_proto, message_to_proto
from flwr.serverapp import Grid
from flwr.supercore.run import Run
from flwr.supercore.task_identity import TaskIdentity


class InProcessGrid(Grid):
    def __init__(
        self,
        client_app: Any,
        num_nodes: int,
        *,
        run_id: int = 1,
        keep: bool = False,
        drop: set[tuple[int, int]] | None = None,
    ) -> None:
        """``drop`` holds (partition, n-th message) pairs whose reply is lost, to simulate a device going away."""
        self.client_app = client_app
        self.node_ids = list(range(1001, 1001 + num_nodes))
        self.contexts = {
            nid: Context(
                run_id=run_id,
                node_id=nid,
                node_config={"partition-id": i, "num-partitions": num_nodes},
                state=RecordDict(),
                run_config={},
            )
            for i, nid in enumerate(self.node_ids)
        }
        self._run = Run.create_empty(run_id)
        # Flower stamps messages with the identity of the task running in this process (the ServerApp here).
        TaskIdentity.run_id, TaskIdentity.node_id, TaskIdentity.task_id = run_id, SUPERLINK_NODE_ID, 0
        self.keep = keep
        self.sent: list[Message] = []
        self.received: list[Message] = []
        self.wire_bytes: list[dict[str, Any]] = []
        self.drop = drop or set()
        self._count: dict[int, int] = {}

    def set_run(self, run: Run) -> None:
        self._run = run

    @property
    def run(self) -> Run:
        return self._run

    def create_message(
        self, content: RecordDict, message_type: str, dst_node_id: int, group_id: str, ttl: float | None = None
    ) -> Message:
        return Message(content, dst_node_id, message_type, ttl=ttl, group_id=group_id)

    def get_node_ids(self) -> Iterable[int]:
        return list(self.node_ids)

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        raise NotImplementedError("InProcessGrid delivers synchronously: use send_and_receive")

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        raise NotImplementedError("InProcessGrid delivers synchronously: use send_and_receive")

    def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None) -> Iterable[Message]:
        replies = []
        for msg in messages:
            msg.metadata.__dict__["_message_id"] = uuid.uuid4().hex
            msg.metadata.__dict__["_run_id"] = self._run.run_id
            nid = msg.metadata.dst_node_id
            part = self.node_ids.index(nid)
            n = self._count[part] = self._count.get(part, 0) + 1
            wire = message_to_proto(msg)  # each device gets its own decoded copy, as over the network
            delivered = message_from_proto(wire)
            try:
                reply = self.client_app(delivered, self.contexts[nid])
            except Exception:  # the ClientApp's crash becomes an error reply, as on a SuperNode
                reply = Message(Error(code=500, reason=traceback.format_exc(limit=3)), reply_to=delivered)
            reply.metadata.__dict__["_src_node_id"] = nid
            reply_wire = message_to_proto(reply)
            self.wire_bytes.append(
                {"node": nid, "type": msg.metadata.message_type, "down": wire.ByteSize(), "up": reply_wire.ByteSize()}
            )
            reply = message_from_proto(reply_wire)
            if self.keep:
                self.sent.append(msg)
                self.received.append(reply)
            if (part, n) in self.drop:
                continue
            replies.append(reply)
        return replies
