extension LockEngine {
    /// One page of held locks whose names are in `names` (the names a client
    /// may read) and start with `prefix`.
    ///
    /// Paging stays honest: a page holds `limit` locks unless the listing is
    /// at its end, however many names outside `names` lie in between. Rather
    /// than filtering pages of every name, each pattern of `names` is listed
    /// on its own, in the order of ``LockNameSet/patterns``: a prefix pattern
    /// narrows the store's own prefix scan, an exact name is looked up. The
    /// cursor names the pattern it stopped in and the store's cursor within
    /// it, so a page resumes in the right place even after the set changed
    /// (an auth file reloaded): at the first pattern not before that one.
    ///
    /// - Throws: ``LockError/invalidRequest(_:)`` for a bad prefix, limit or
    ///   cursor; ``LockError/unavailable(_:)`` when the store cannot serve.
    public func list(prefix: String, limit: Int, cursor: String?, within names: LockNameSet) async throws(LockError) -> LockPage {
        if names.isAll { return try await list(prefix: prefix, limit: limit, cursor: cursor) }
        guard LockName.isValidPrefix(prefix) else {
            throw .invalidRequest("prefix may contain only A-Z a-z 0-9 . _ : - and at most \(LockName.maxLength) bytes")
        }
        guard (1...1000).contains(limit) else { throw .invalidRequest("limit must be between 1 and 1000") }
        let scopes = names.patterns.compactMap { ScopedListing.Scope($0, within: prefix) }
        var (index, storeCursor) = try ScopedListing.resume(cursor, in: scopes)
        var locks: [LockStatus] = []
        while index < scopes.count, locks.count < limit {
            switch scopes[index].narrowed {
            case .exact(let name):
                let status = try await status(of: name)
                if status.isHeld { locks.append(status) }
                storeCursor = nil
            case .prefix(let narrowed):
                let page = try await list(prefix: narrowed, limit: limit - locks.count, cursor: storeCursor)
                locks += page.locks
                storeCursor = page.nextCursor
            }
            if storeCursor == nil { index += 1 }
        }
        let next = index < scopes.count ? ScopedListing.cursor(scopes[index], storeCursor) : nil
        return LockPage(locks: locks, nextCursor: next)
    }
}

/// The parts of a listing within a ``LockNameSet`` and its cursor,
/// `PATTERN~STORE_CURSOR` (the store's part empty at a pattern's start).
enum ScopedListing {
    /// A pattern of the set, narrowed by the listing's prefix.
    struct Scope {
        /// The pattern as the set has it: the cursor names it.
        var pattern: LockNamePattern
        /// What to list: the names in both the pattern and the prefix.
        var narrowed: LockNamePattern

        /// Nil when no name is both in `pattern` and starts with `prefix`.
        init?(_ pattern: LockNamePattern, within prefix: String) {
            self.pattern = pattern
            switch pattern {
            case .exact(let name):
                guard name.value.utf8.starts(with: prefix.utf8) else { return nil }
                narrowed = pattern
            case .prefix(let patternPrefix):
                if prefix.utf8.starts(with: patternPrefix.utf8) {
                    narrowed = .prefix(prefix)
                } else if patternPrefix.utf8.starts(with: prefix.utf8) {
                    narrowed = pattern
                } else {
                    return nil
                }
            }
        }
    }

    private static let separator: Character = "~"

    static func cursor(_ scope: Scope, _ storeCursor: String?) -> String {
        scope.pattern.description + String(separator) + (storeCursor ?? "")
    }

    /// Where a cursor resumes: the scope's index and the store's cursor in it.
    static func resume(_ cursor: String?, in scopes: [Scope]) throws(LockError) -> (index: Int, storeCursor: String?) {
        guard let cursor else { return (0, nil) }
        guard let tilde = cursor.firstIndex(of: separator), let pattern = LockNamePattern(String(cursor[..<tilde])) else {
            throw .invalidRequest("cursor is not one that lockd returned; start without it")
        }
        let storeCursor = cursor[cursor.index(after: tilde)...]
        let key = pattern.description.utf8
        guard let index = scopes.firstIndex(where: { !$0.pattern.description.utf8.lexicographicallyPrecedes(key) }) else {
            return (scopes.count, nil)
        }
        // The pattern it stopped in may be gone since: then start the next one afresh.
        guard scopes[index].pattern == pattern, !storeCursor.isEmpty else { return (index, nil) }
        return (index, String(storeCursor))
    }
}
