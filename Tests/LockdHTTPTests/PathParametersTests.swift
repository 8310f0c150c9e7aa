import Testing

@testable import LockdHTTP

/// The first parameter is kept inline, the rest in an array: reading,
/// setting, replacing and removing must behave as the ordered list of pairs
/// it stands for, whichever position each name holds.
@Suite struct PathParametersTests {
    @Test func appendedParametersReadBackInAnyPosition() {
        for count in 0...4 {
            var parameters = PathParameters()
            for index in 0..<count { parameters.append(name: "p\(index)", value: "v\(index)") }
            #expect(parameters.count == count)
            for index in 0..<count { #expect(parameters["p\(index)"] == "v\(index)") }
            #expect(parameters["p\(count)"] == nil)
        }
    }

    @Test func settingAndRemovingFollowAnOrderedModel() {
        // Every sequence of three operations over three names, against a list of pairs.
        let names = ["a", "b", "c"]
        let operations: [(String, String?)] = names.flatMap { [($0, "x-\($0)"), ($0, "y-\($0)"), ($0, nil)] }
        for first in operations {
            for second in operations {
                for third in operations {
                    var parameters = PathParameters()
                    var model: [(String, String)] = []
                    for (name, value) in [first, second, third] {
                        parameters[name] = value
                        let index = model.firstIndex { $0.0 == name }
                        switch (index, value) {
                        case (let index?, let value?): model[index].1 = value
                        case (let index?, nil): model.remove(at: index)
                        case (nil, let value?): model.append((name, value))
                        case (nil, nil): break
                        }
                    }
                    #expect(parameters.count == model.count)
                    for name in names { #expect(parameters[name] == model.first { $0.0 == name }?.1) }
                    var rebuilt = PathParameters()
                    for (name, value) in model.reversed() { rebuilt[name] = value }
                    #expect(parameters == rebuilt, "equality ignores order")
                }
            }
        }
    }

    @Test func equalityComparesEveryPair() {
        #expect(PathParameters() == [:])
        #expect(["name": "x"] as PathParameters == ["name": "x"])
        #expect(["name": "x"] as PathParameters != ["name": "y"])
        #expect(["name": "x"] as PathParameters != ["name": "x", "fence": "1"])
        #expect(["name": "x", "fence": "1"] as PathParameters == ["fence": "1", "name": "x"])
    }
}
