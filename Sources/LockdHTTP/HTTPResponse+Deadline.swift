extension HTTPResponse {
    /// What is written in place of a response reached after its
    /// ``deadline``: 503 `unavailable`, to be asked again (`Retry-After: 1`)
    /// for an answer that is not out of date.
    ///
    /// ```swift
    /// var response = HTTPResponse(status: .created, body: lease)
    /// response.deadline = usableUntil  // else HTTPResponse.late() goes instead,
    /// response.onDropped = { giveBack(lease) }  // and this is called
    /// ```
    public static func late() -> HTTPResponse {
        problem(status: .serviceUnavailable, type: "unavailable",
                detail: "the answer was held up until it was out of date; try again", headers: ["Retry-After": "1"])
    }
}
