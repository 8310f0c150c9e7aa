import RESP

/// A message published to a channel this client subscribed to.
public struct RedisPubSubMessage: Sendable, Hashable {
    /// The channel it was published on.
    public let channel: String
    /// The pattern that matched, for pattern subscriptions.
    public let pattern: String?
    /// The published bytes.
    public let payload: [UInt8]

    /// Creates a message.
    public init(channel: String, pattern: String? = nil, payload: [UInt8]) {
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
    }

    /// The payload read as UTF-8.
    public var string: String { String(decoding: payload, as: UTF8.self) }
}

/// How a pub/sub subscription selects messages.
public enum RedisSubscriptionKind: Sendable, Hashable {
    /// `SUBSCRIBE`: exact channel names.
    case channel
    /// `PSUBSCRIBE`: glob-style patterns.
    case pattern
    /// `SSUBSCRIBE`: shard channels (Redis 7).
    case shardChannel

    var subscribeCommand: String {
        switch self {
        case .channel: "SUBSCRIBE"
        case .pattern: "PSUBSCRIBE"
        case .shardChannel: "SSUBSCRIBE"
        }
    }

    var unsubscribeCommand: String {
        switch self {
        case .channel: "UNSUBSCRIBE"
        case .pattern: "PUNSUBSCRIBE"
        case .shardChannel: "SUNSUBSCRIBE"
        }
    }
}

/// What a frame on a subscribed connection is: RESP2 sends pub/sub frames as
/// arrays, RESP3 as push frames, with the same elements.
enum RedisPubSubFrame: Equatable {
    /// A published message to deliver.
    case message(RedisPubSubMessage, RedisSubscriptionKind)
    /// The server's confirmation of one name of a (un)subscribe command.
    case confirmation
    /// An `sunsubscribe` for this shard channel: the confirmation of an
    /// `SUNSUBSCRIBE`, or the server's own notice that the channel's slot
    /// moved to another node (Redis Cluster).
    case shardUnsubscribed(String)
    /// Not a pub/sub frame.
    case other

    init(_ value: RESPValue) {
        let elements: [RESPValue]
        switch value.withoutAttributes {
        case .push(let values), .array(let values): elements = values
        default:
            self = .other
            return
        }
        guard let type = elements.first?.string?.lowercased() else {
            self = .other
            return
        }
        switch (type, elements.count) {
        case ("message", 3), ("smessage", 3):
            guard let channel = elements[1].string, let payload = elements[2].bytes else { self = .other; return }
            self = .message(RedisPubSubMessage(channel: channel, payload: payload), type == "message" ? .channel : .shardChannel)
        case ("pmessage", 4):
            guard let pattern = elements[1].string, let channel = elements[2].string, let payload = elements[3].bytes else {
                self = .other
                return
            }
            self = .message(RedisPubSubMessage(channel: channel, pattern: pattern, payload: payload), .pattern)
        case ("sunsubscribe", 3):
            self = elements[1].string.map { .shardUnsubscribed($0) } ?? .confirmation
        case ("subscribe", 3), ("psubscribe", 3), ("ssubscribe", 3),
             ("unsubscribe", 3), ("punsubscribe", 3):
            self = .confirmation
        default:
            self = .other
        }
    }
}
