"""An emulated EKS API answering DescribeCluster, for botocore as the join Lambda runs it (tests and the rehearsal).

botocore sends DescribeCluster as `GET /clusters/<name>` (rest-json, botocore/data/eks/2017-11-01/service-2.json), signed
with SigV4 whose credential scope names the region (`Credential=<key>/<date>/<region>/eks/aws4_request`); a client is
pointed here with `endpoint_url` or AWS_ENDPOINT_URL_EKS (botocore's service-specific endpoint variable). Answers:
the `cluster` object (name, arn, endpoint, certificateAuthority.data, status, and `tags`: the cluster's tags as the
template sets them, a map as EKS's DescribeCluster answers them) of the cluster `describe(region, name)` gives; 404
ResourceNotFoundException when it gives None; 403 AccessDeniedException when `allowed(region, name)` says the caller's
IAM policy does not cover it (the rehearsal evaluates the function's policies: rehearsal/network.py
`describe_why_not`; IAM decides before EKS looks the cluster up, so a refused caller never learns whether it exists).
Errors carry their code in the `x-amzn-ErrorType` header, as EKS sends it.
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import unquote

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[a-z0-9-]+)/eks/aws4_request")
_PATH = re.compile(r"^/clusters/(?P<name>[^/?]+)$")


@dataclass(frozen=True)
class EksCluster:
    name: str
    region: str
    endpoint: str
    ca_data: str
    account: str = "123456789012"
    tags: dict[str, str] = field(default_factory=dict, hash=False)
    """The cluster's tags (AWS::EKS::Cluster `Tags`, as the template sets them)."""

    @property
    def arn(self) -> str:
        return f"arn:aws:eks:{self.region}:{self.account}:cluster/{self.name}"

    def described(self) -> dict:
        return {"name": self.name, "arn": self.arn, "endpoint": self.endpoint,
                "certificateAuthority": {"data": self.ca_data}, "status": "ACTIVE", "tags": dict(self.tags)}


class EksApi:
    """A DescribeCluster server on 127.0.0.1 (`url`), in a thread, until `close()`."""

    def __init__(self, describe: Callable[[str, str], EksCluster | None],
                 allowed: Callable[[str, str], bool] = lambda region, name: True) -> None:
        self.describe, self.allowed = describe, allowed
        self.calls: list[tuple[str, str]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                scope = _SCOPE.search(self.headers.get("Authorization", ""))
                path = _PATH.match(self.path.split("?")[0])
                if scope is None or path is None:
                    return self._answer(400, {"message": "not a signed DescribeCluster"}, "BadRequestException")
                region, name = scope["region"], unquote(path["name"])
                api.calls.append((region, name))
                if not api.allowed(region, name):
                    return self._answer(403, {"message": f"not authorized to perform eks:DescribeCluster on {name}"},
                                        "AccessDeniedException")
                cluster = api.describe(region, name)
                if cluster is None:
                    return self._answer(404, {"message": f"No cluster found for name: {name}."},
                                        "ResourceNotFoundException")
                return self._answer(200, {"cluster": cluster.described()})

            def _answer(self, status: int, body: dict, error: str | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if error:
                    self.send_header("x-amzn-ErrorType", error)
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="eks-api", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
