"""Running a command in a pod (the Kubernetes API's exec over a websocket), with its
output and its time bounded: what the dashboard's ``services/<name>/exec`` does for each
pod. The output is stdout and stderr as they come, cut at ``limit`` bytes (what came
after is read and dropped, so that the command is not blocked on a full pipe); the exit
code is the API's status (channel 3). When ``seconds`` pass first the connection is
closed and the answer says so (``timed_out``): Kubernetes does not stop a command whose
exec connection is gone, so a command that may run long should bound itself
(``timeout 10 ...``)."""

from __future__ import annotations

import asyncio

from kubernetes_asyncio.client import CoreV1Api
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.stream import WsApiClient

from .kube import api_message

STDOUT, STDERR, STATUS = 1, 2, 3


async def run(
    configuration, ns: str, pod: str, container: str, command: list[str], seconds: float, limit: int
) -> dict:
    entry: dict = {"pod": pod, "container": container, "exit_code": None, "output": ""}
    kept = bytearray()
    seen = 0
    status = None
    client = WsApiClient(configuration=configuration)
    try:
        connect = await CoreV1Api(api_client=client).connect_get_namespaced_pod_exec(
            pod,
            ns,
            command=command,
            container=container,
            stdout=True,
            stderr=True,
            stdin=False,
            tty=False,
            _preload_content=False,
        )

        async def read():
            nonlocal seen, status
            async with connect as ws:
                async for message in ws:
                    data = message.data if isinstance(message.data, bytes) else b""
                    if len(data) < 1:
                        continue
                    channel, payload = data[0], data[1:]
                    if channel in (STDOUT, STDERR):
                        seen += len(payload)
                        kept.extend(payload[: max(0, limit - len(kept))])
                    elif channel == STATUS and payload:
                        status = payload

        async with asyncio.timeout(seconds):
            await read()
    except TimeoutError:
        entry["timed_out"] = True
    except ApiException as err:
        entry["error"] = f"cannot run it: {api_message(err)}"
    except OSError as err:
        entry["error"] = f"cannot run it: {err}"
    finally:
        await client.close()
    if status is not None:
        try:
            entry["exit_code"] = WsApiClient.parse_error_data(status)
        except (ValueError, KeyError, IndexError, TypeError):
            entry["error"] = status.decode("utf-8", "replace")[:500]
    entry["output"] = kept.decode("utf-8", "replace")
    entry["truncated"] = seen > len(kept)
    return entry
