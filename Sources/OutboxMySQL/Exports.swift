@_exported import OutboxRelay
