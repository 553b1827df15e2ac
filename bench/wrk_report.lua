-- wrk reporter: one JSON line with the counts and latency percentiles (microseconds) bench/run.py reads.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "socket_errors": %d, "non2xx": %d, "bytes": %d, ' ..
    '"mean": %.1f, "p50": %d, "p95": %d, "p99": %d, "max": %d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status, summary.bytes,
    latency.mean, latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
