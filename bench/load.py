"""Load from wrk (a C load generator, outside the server process): closed-loop or paced, parsed."""

from __future__ import annotations

import json
import re
import resource
import subprocess
from dataclasses import dataclass
from pathlib import Path

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class Request:
    path: str
    body: dict
    token: int | None = None  # index into the script's tokens


@dataclass(frozen=True)
class LoadResult:
    connections: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    total: int
    cpu_seconds: float  # wrk's own, user + system
    statuses: dict[int, int] | None = None  # answers by status, when the script counted them


def write_script(
    requests: list[Request],
    path: Path,
    *,
    tokens: list[str] = (),
    pace_ms: float = 0.0,
    headers: dict[str, str] | None = None,
    count_statuses: bool = False,
) -> Path:
    """A wrk Lua script cycling through `requests`; each connection waits `pace_ms` between requests.

    `headers` go on every request; `count_statuses` counts the answers by status (a Lua call per
    answer: for paced runs, not for saturation)."""
    extra = "".join(f"  headers[{_lua(name)}] = {_lua(value)}\n" for name, value in (headers or {}).items())
    counting = _COUNT_STATUSES if count_statuses else ""
    rows = ",\n".join(
        f"{{{_lua(r.path)},{_lua(json.dumps(r.body))},{0 if r.token is None else r.token + 1}}}"
        for r in requests
    )
    path.write_text(
        f"""
local tokens = {{{",".join(_lua(t) for t in tokens)}}}
local requests = {{
{rows}
}}
local i = 0
local threads = {{}}
function setup(thread) thread:set("offset", math.random(#requests)); table.insert(threads, thread) end
function init(args) i = tonumber(offset) or 0 end
function request()
  i = i % #requests + 1
  local r = requests[i]
  local headers = {{["Content-Type"] = "application/json"}}
{extra}  if r[3] > 0 then headers["Authorization"] = "Bearer " .. tokens[r[3]] end
  return wrk.format("POST", r[1], headers, r[2])
end
function delay() return {pace_ms} end
{counting}"""
    )
    return path


_COUNT_STATUSES = """
seen = {}  -- global: done() reads each thread's with thread:get
function response(status, headers, body) seen[status] = (seen[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("seen")) do total[status] = (total[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(total) do table.insert(parts, status .. "=" .. n) end
  io.write("statuses: " .. table.concat(parts, " ") .. "\\n")
end
"""


def run(base_url: str, script: Path, *, connections: int, seconds: int, threads: int = 2) -> LoadResult:
    before = _children_cpu_seconds()
    output = subprocess.run(
        ["wrk", "--latency", "-t", str(min(threads, connections)), "-c", str(connections),
         "-d", f"{seconds}s", "--timeout", "10s", "-s", str(script), base_url],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return LoadResult(
        connections=connections,
        requests_per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        p50_ms=_latency(output, "50%"),
        p99_ms=_latency(output, "99%"),
        non_2xx=int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", output)) else 0,
        total=int(re.search(r"(\d+) requests in", output).group(1)),
        cpu_seconds=round(_children_cpu_seconds() - before, 2),
        statuses=_statuses(output),
    )


def _statuses(output: str) -> dict[int, int] | None:
    line = re.search(r"^statuses: (.*)$", output, re.M)
    if line is None:
        return None
    return {int(s): int(n) for s, n in (part.split("=") for part in line.group(1).split())}


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # of the children that have exited
    return usage.ru_utime + usage.ru_stime


def _latency(output: str, percentile: str) -> float:
    value, unit = re.search(rf"^\s+{percentile}\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
    return float(value) * _UNITS[unit]


def _lua(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
