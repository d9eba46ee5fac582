/// The batches being processed while the loop reads the next one.
struct BatchesInFlight {
    let limit: Int
    private var tasks: [Task<Void, any Error>] = []

    init(limit: Int) {
        precondition(limit >= 1)
        self.limit = limit
    }

    /// Starts `work` once fewer than `limit` batches are in flight, waiting for the oldest first.
    /// - Throws: the error of that oldest batch; `work` is then not started.
    mutating func add(_ work: @escaping @Sendable () async throws -> Void) async throws {
        if tasks.count >= limit { try await tasks.removeFirst().value }
        tasks.append(Task(operation: work))
    }

    /// Waits for every batch in flight.
    /// - Throws: the first error among them, once all are over.
    mutating func finish() async throws {
        var firstError: (any Error)?
        for task in tasks {
            do { try await task.value } catch { firstError = firstError ?? error }
        }
        tasks.removeAll()
        if let firstError { throw firstError }
    }

    /// Waits for every batch in flight, whatever their outcome.
    mutating func finishIgnoringErrors() async {
        _ = try? await finish()
    }
}
