import RESP

/// One step of the connection handshake.
enum HandshakeStep: Equatable {
    /// `HELLO 3 [AUTH user password] [SETNAME name]`: RESP3, credentials and name at once.
    case hello
    /// `AUTH [user] password` (RESP2 servers).
    case auth
    /// `CLIENT SETNAME name` (RESP2 servers).
    case setName
    /// `SELECT db`.
    case select
}

extension RedisConnectionStateMachine {
    /// The steps for a fresh connection: `HELLO 3` when RESP3 is preferred.
    func initialHandshakeSteps() -> [HandshakeStep] {
        settings.prefersRESP3 ? [.hello] + selectStep : resp2Steps
    }

    private var selectStep: [HandshakeStep] { settings.database == 0 ? [] : [.select] }

    private var resp2Steps: [HandshakeStep] {
        (settings.password == nil ? [] : [.auth]) + (settings.clientName == nil ? [] : [.setName]) + selectStep
    }

    /// Sends the next step's command, or becomes ready when none is left.
    mutating func advanceHandshake() -> Action {
        guard !handshakeSteps.isEmpty else { return becomeReady() }
        let step = handshakeSteps.removeFirst()
        encode(command(for: step))
        state = .handshaking(step)
        return .flush
    }

    /// Handles the reply to the step in progress.
    mutating func handshakeReply(_ value: RESPValue, step: HandshakeStep) -> Action {
        if case .push = value.withoutAttributes { return .none }
        guard let message = value.errorMessage else {
            if step == .hello { protocolVersion = 3 }
            return advanceHandshake()
        }
        switch step {
        case .hello:
            let upper = message.uppercased()
            if upper.hasPrefix("NOPROTO") || upper.contains("UNKNOWN COMMAND") {
                // Redis before 6 knows no HELLO: speak RESP2 and authenticate the old way.
                handshakeSteps = resp2Steps
                return advanceHandshake()
            }
            return attemptFailed(credentialsError(message))
        case .auth:
            return attemptFailed(credentialsError(message))
        case .setName:
            // A name is a convenience; an ACL that forbids CLIENT is no reason to fail.
            return advanceHandshake()
        case .select:
            return attemptFailed(RedisError(
                .databaseRejected, code: RedisError.reply(message).code,
                message: "Redis has no database \(settings.database) for lockd (the /\(settings.database) of the URL): \(message)"))
        }
    }

    private func credentialsError(_ message: String) -> RedisError {
        let classified = RedisError.reply(message)
        let upper = message.uppercased()
        let aboutCredentials = classified.kind == .authenticationFailed || upper.contains("PASSWORD") || upper.contains("AUTH")
        guard aboutCredentials else { return classified }
        let hint = settings.password == nil
            ? "Redis requires a password; put it in the URL as redis://USER:PASSWORD@host:port"
            : "Redis rejected the user name or password of the URL"
        return RedisError(.authenticationFailed, code: classified.code, message: "\(hint) (\(message))")
    }

    private func command(for step: HandshakeStep) -> [RESPBulk] {
        switch step {
        case .hello:
            var arguments: [RESPBulk] = ["HELLO", "3"]
            if let password = settings.password {
                arguments += ["AUTH", .string(settings.username ?? "default"), .string(password)]
            }
            if let name = settings.clientName { arguments += ["SETNAME", .string(name)] }
            return arguments
        case .auth:
            let password = RESPBulk.string(settings.password ?? "")
            return settings.username.map { ["AUTH", .string($0), password] } ?? ["AUTH", password]
        case .setName:
            return ["CLIENT", "SETNAME", .string(settings.clientName ?? "")]
        case .select:
            return ["SELECT", .integer(Int64(settings.database))]
        }
    }
}
