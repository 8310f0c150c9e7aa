// Callers of the client handle replies (`RESPValue`) and arguments
// (`RESPBulk`) from the codec module; re-exporting it spares every caller an import.
@_exported import RESP
// TLS settings are part of a Redis configuration (`RedisConfiguration.tls`).
@_exported import LockdTLS
