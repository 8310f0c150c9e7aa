@testable import LockEngine
import LockdRedis
import LockdTestSupport
import LockdTransport
import Logging
import Testing

/// Each Lua script carries only the prelude functions it calls
/// (``LuaPrelude``): the scan must find every one, also through another
/// function, and every script must still compile and define what it calls.
@Suite struct LuaPreludeTests {
    static let sample = LuaPrelude("""
        local sharded = false
        -- Formats an integer.
        local function num(x) return string.format('%d', x) end
        local function unused() return 'num(1)' end
        -- Keeps `key` `ms` longer.
        -- (Two comment lines: both go with it.)
        local function retain(key, ms)
          redis.call('PEXPIRE', key, num(ms))
        end
        local function keep(key) retain(key, 5000) end
        """)

    @Test func theScanFindsAFunctionUsedOnlyThroughAnother() {
        let prelude = Self.sample
        #expect(prelude.functions.map(\.name) == ["num", "unused", "retain", "keep"])
        #expect(prelude.needed(by: "keep(KEYS[1])\nreturn 1") == ["keep", "retain", "num"])
        #expect(prelude.needed(by: "return num(2)") == ["num"])
        // A name in a string or a comment is no call (`unused`'s own string names `num`).
        #expect(prelude.needed(by: "-- keep(KEYS[1])\nreturn 'retain(1)' .. \"keep\" .. unused()") == ["unused"])
        let script = prelude.script("keep(KEYS[1])")
        #expect(script == """
            local sharded = false
            -- Formats an integer.
            local function num(x) return string.format('%d', x) end
            -- Keeps `key` `ms` longer.
            -- (Two comment lines: both go with it.)
            local function retain(key, ms)
              redis.call('PEXPIRE', key, num(ms))
            end
            local function keep(key) retain(key, 5000) end
            keep(KEYS[1])
            """)
    }

    /// Lua resolves a name not yet declared local as a global: a function
    /// may call only the ones above it, which the scripts keep in order.
    @Test func everyPreludeFunctionCallsOnlyFunctionsAboveIt() {
        var above: Set<String> = []
        for function in RedisLockScripts.prelude.functions {
            #expect(function.calls.subtracting(above).subtracting([function.name]).isEmpty, "\(function.name)")
            above.insert(function.name)
        }
        #expect(above.count > 20)
    }

    static let scripts: [(name: String, script: RedisScript)] = [RedisLockStore.Scripts.classic, .sharded].flatMap { scripts in
        [
            ("acquire", scripts.acquire), ("renew", scripts.renew), ("release", scripts.release), ("forceRelease", scripts.forceRelease),
            ("status", scripts.status), ("removeWaiter", scripts.removeWaiter), ("beat", scripts.beat), ("reconcile", scripts.reconcile),
        ]
    }

    /// Checked apart from the scan: every prelude function a script's text
    /// calls (`name(`, not a field's) is declared in it before its first call.
    @Test func everyScriptDeclaresEveryPreludeFunctionBeforeCallingIt() throws {
        for (scriptName, script) in Self.scripts {
            let text = script.source
            for function in RedisLockScripts.prelude.functions {
                let declaration = text.firstRange(of: "local function \(function.name)(")
                // (The declaration's own `name(` comes after its start.)
                let call = try Regex("(^|[^\\w.:])\(function.name)\\s*\\(").anchorsMatchLineEndings()
                for match in text.matches(of: call) {
                    #expect(declaration.map { $0.lowerBound < match.range.upperBound } ?? false, "\(scriptName) calls \(function.name)")
                }
            }
        }
        // The point: a script without hand-overs defines none of their functions.
        let beat = try #require(Self.scripts.first { $0.name == "beat" }).script.source
        #expect(!beat.contains("local function hand_over("))
        #expect(beat.contains("local function num("))
    }

    /// Redis compiles every script, in both variants: `SCRIPT LOAD` answers
    /// the SHA-1 lockd calls it by, `FUNCTION LOAD` each variant's library.
    @Test func redisCompilesEveryScript() async throws {
        let server = try await offThePool { try RedisServerFixture.start() }
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: "lua-prelude-test")
        let client = RedisClient(configuration: try RedisConfiguration(url: server.url), eventLoopGroup: loops, logger: Logger(label: "test"))
        for (name, script) in Self.scripts {
            let reply = try await client.send(["SCRIPT", "LOAD", .string(script.source)])
            #expect(reply.string == script.sha1, "\(name)")
        }
        // And each variant's library, with every script a function of it.
        for scripts in [RedisLockStore.Scripts.classic, .sharded] {
            let library = try #require(scripts.acquire.function?.library)
            #expect(try await client.send(["FUNCTION", "LOAD", .string(library.source)]).string == library.name)
        }
        let functions = try await client.send(["FUNCTION", "LIST"]).array?.count
        #expect(functions == 2)
        for (name, script) in Self.scripts {
            let function = try #require(script.function, "\(name)")
            #expect(function.name.hasSuffix("_\(name)"))
            #expect(function.library == (script.source.contains("local sharded = true") ? RedisLockStore.Scripts.sharded : .classic).acquire.function?.library)
        }
        await client.shutdown()
        loops.shutdown()
        await offThePool { server.stop() }
    }
}
