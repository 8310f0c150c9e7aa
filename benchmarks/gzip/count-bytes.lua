-- wrk script: prints the run's exact request and byte counts (wrk's own
-- summary rounds bytes to two decimals of a unit). Bytes are what wrk read
-- from the sockets: status lines, headers and bodies.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d bytes=%d errors=%d\n", summary.requests, summary.bytes,
    e.connect + e.read + e.write + e.status + e.timeout))
end
