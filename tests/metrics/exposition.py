"""Reading the Prometheus text exposition the way a Prometheus server does: the prometheus_client
library's own parser, every family checked for HELP and a type; and fetching it over HTTP from
inside a lab namespace with the Python standard library's HTTP client."""

from __future__ import annotations

import json
import sys

from prometheus_client.parser import text_string_to_metric_families

# Runs inside the namespace: one GET (or another method), the answer as a JSON line.
_HTTP_GET = r"""
import http.client, json, sys
host, port, method, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
try:
    c = http.client.HTTPConnection(host, port, timeout=30)
    c.request(method, path)
    r = c.getresponse()
    body = r.read().decode()
    print(json.dumps({"status": r.status, "content_type": r.getheader("Content-Type"), "body": body}))
except OSError as e:
    print(json.dumps({"error": type(e).__name__, "errno": getattr(e, "errno", None)}))
"""


def families(text: str) -> dict:
    """{family name: (type, {(sorted label pairs): value})}. The parser drops `_total` from a
    counter's family name."""
    result = {}
    for fam in text_string_to_metric_families(text):
        assert fam.documentation, f"{fam.name} has no HELP"
        result[fam.name] = (fam.type, {tuple(sorted(s.labels.items())): s.value for s in fam.samples})
    # The parser accepts a family without TYPE as "unknown": every one of ours is typed.
    assert all(t in ("counter", "gauge") for t, _ in result.values()), result
    return result


def value(fams: dict, name: str, **labels) -> float:
    return fams[name][1][tuple(sorted(labels.items()))]


def http_get(node, host: str, port: int, path: str = "/metrics", method: str = "GET") -> dict:
    """{status, content_type, body} of one request from inside `node`, or {error, errno}."""
    out = node.out([sys.executable, "-c", _HTTP_GET, host, str(port), method, path])
    return json.loads(out)


def scrape(node, host: str, port: int) -> dict:
    """The families of the daemon's /metrics (an HTTP 200 in the exposition's content type)."""
    r = http_get(node, host, port)
    assert r.get("status") == 200, r
    assert r["content_type"].startswith("text/plain; version=0.0.4"), r
    return families(r["body"])
