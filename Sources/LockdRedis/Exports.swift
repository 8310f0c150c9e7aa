// Callers of the client handle replies (`RESPValue`) and arguments
// (`RESPBulk`) from the codec module; re-exporting it spares every caller an import.
@_exported import RESP
