/// Group commit for requests that one round trip can carry together (events into one run of the
/// ingest script): a request that finds a free slot goes at once, alone; requests that arrive while
/// the slots are taken wait and go together as soon as one frees. Nobody waits for a batch to fill,
/// and under load each round trip carries many requests.
///
/// A value type without I/O: the caller sends what it is handed and reports each batch's end.
struct GroupCommitQueue<Item> {
    /// Batches sent and not yet finished, at most.
    let maximumInFlight: Int
    /// Items in one batch, at most.
    let maximumBatch: Int
    /// Items waiting for a slot, oldest first.
    private(set) var waiting: [Item] = []
    /// Batches sent and not yet finished.
    private(set) var inFlight = 0

    /// - Parameters:
    ///   - maximumInFlight: batches sent and not yet finished, at most (≥ 1).
    ///   - maximumBatch: items in one batch, at most (≥ 1).
    init(maximumInFlight: Int, maximumBatch: Int) {
        precondition(maximumInFlight >= 1 && maximumBatch >= 1)
        self.maximumInFlight = maximumInFlight
        self.maximumBatch = maximumBatch
    }

    /// Takes an item. Returns the batch to send now (this item, with any that waited), or nil
    /// when every slot is taken: the item waits for ``batchFinished()``.
    mutating func enqueue(_ item: Item) -> [Item]? {
        waiting.append(item)
        return nextBatch()
    }

    /// A batch sent earlier is finished. Returns the next batch to send, if items wait.
    mutating func batchFinished() -> [Item]? {
        precondition(inFlight > 0, "a batch finished that was never sent")
        inFlight -= 1
        return nextBatch()
    }

    private mutating func nextBatch() -> [Item]? {
        guard inFlight < maximumInFlight, !waiting.isEmpty else { return nil }
        inFlight += 1
        let count = min(maximumBatch, waiting.count)
        let batch = Array(waiting.prefix(count))
        waiting.removeFirst(count)
        return batch
    }
}
