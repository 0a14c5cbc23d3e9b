"""One member account's functions, in a process of their own (the local cloud's organization).

The handlers read their settings and credentials from the environment, as Lambda gives them, so
each account's controller runs in its own process, with that account's environment; it reaches
the local cloud over HTTP like any client. Its log records are written to standard output, one
JSON object a line, for the local cloud to show. Stops at SIGTERM or when standard input closes.

    python -m eks_audit_local.member_process CONFIG_JSON
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class MemberConfig:
    account: str
    region: str
    queue_url: str
    queue_arn: str
    relay_url: str | None
    relay_arn: str | None
    visibility_seconds: int
    sweep_interval: float


class MemberController:
    """The parent's handle: starts the process and hands each record to `on_record`."""

    def __init__(
        self, config: MemberConfig, environment: dict[str, str], on_record: Callable[[dict[str, Any]], None]
    ):
        self.config = config
        self.on_record = on_record
        self.process = subprocess.Popen(
            [sys.executable, "-m", "eks_audit_local.member_process", json.dumps(asdict(config))],
            env={**os.environ, **environment},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, name=f"member-{config.account}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                self.on_record({**record, "account": self.config.account})

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._reader.join(timeout=2)


def main(argv: list[str]) -> int:
    import boto3
    from botocore.config import Config

    from eks_audit_local.controller import Controller

    config = MemberConfig(**json.loads(argv[1]))
    lock = threading.Lock()

    def emit(record: dict[str, Any]) -> None:
        with lock:
            print(json.dumps(record, default=str), flush=True)

    sqs = boto3.client(
        "sqs", region_name=config.region, config=Config(retries={"mode": "adaptive", "max_attempts": 10})
    )
    relay = (config.relay_url, config.relay_arn) if config.relay_url and config.relay_arn else None
    controller = Controller(
        sqs,
        config.queue_url,
        config.queue_arn,
        config.region,
        on_record=emit,
        visibility_seconds=config.visibility_seconds,
        sweep_interval=config.sweep_interval,
        relay=relay,
    )
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    threading.Thread(target=lambda: (sys.stdin.read(), stopping.set()), daemon=True).start()
    controller.start()
    emit({"level": "INFO", "message": f"controller of account {config.account} attached"})
    stopping.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
