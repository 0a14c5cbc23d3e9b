"""A small SQS for the fault-injection suite: delays, visibility, receive counts, a dead-letter
queue after maxReceiveCount, and a ledger of every message, so that nothing can vanish unseen."""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass, field


@dataclass
class Message:
    id: str
    body: str
    visible_at: int
    receive_count: int = 0


@dataclass
class SimulatedQueue:
    rng: random.Random
    max_receive_count: int = 3
    tick: int = 0
    pending: dict[str, Message] = field(default_factory=dict)
    dead: list[Message] = field(default_factory=list)
    processed: list[str] = field(default_factory=list)
    sent: int = 0
    _ids: itertools.count = field(default_factory=itertools.count)

    # the part of the SQS API the worker uses
    def send_message(self, QueueUrl: str, MessageBody: str, DelaySeconds: int = 0) -> dict:
        self.put(MessageBody, delay=DelaySeconds)
        return {"MessageId": "x"}

    def put(self, body: str, delay: int = 0) -> None:
        message = Message(f"m-{next(self._ids)}", body, self.tick + delay)
        self.pending[message.id] = message
        self.sent += 1

    def receive(self, limit: int = 10) -> list[Message]:
        """Visible messages in random order (SQS standard queues do not keep order)."""
        visible = [m for m in self.pending.values() if m.visible_at <= self.tick]
        self.rng.shuffle(visible)
        batch = []
        for message in visible[:limit]:
            message.receive_count += 1
            if message.receive_count > self.max_receive_count:
                del self.pending[message.id]
                self.dead.append(message)
                continue
            message.visible_at = self.tick + 2  # visibility timeout
            batch.append(message)
        return batch

    def delete(self, message: Message) -> None:
        self.pending.pop(message.id, None)
        self.processed.append(message.id)

    def deliver(self, handler, context) -> int:
        """One poll as Lambda's event source mapping does it: receive a batch, invoke the handler,
        delete what it did not report as failed. Returns the batch size."""
        batch = self.receive()
        if batch:
            response = handler(self.lambda_event(batch), context)
            failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
            for message in batch:
                if message.id not in failed:
                    self.delete(message)
        return len(batch)

    def lambda_event(self, batch: list[Message]) -> dict:
        return {
            "Records": [
                {
                    "messageId": m.id,
                    "receiptHandle": m.id,
                    "body": m.body,
                    "attributes": {
                        "ApproximateReceiveCount": str(m.receive_count),
                        "SentTimestamp": "0",
                        "SenderId": "x",
                        "ApproximateFirstReceiveTimestamp": "0",
                    },
                    "messageAttributes": {},
                    "md5OfBody": "",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:reconcile",
                    "awsRegion": "us-east-1",
                }
                for m in batch
            ]
        }


def body(event: dict) -> str:
    return json.dumps(event)
