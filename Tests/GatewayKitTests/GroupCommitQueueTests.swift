import Testing

@testable import GatewayKit

@Suite struct GroupCommitQueueTests {
    @Test func anItemThatFindsASlotFreeGoesAtOnceAlone() {
        var queue = GroupCommitQueue<Int>(maximumInFlight: 1, maximumBatch: 8)
        #expect(queue.enqueue(1) == [1])
        #expect(queue.inFlight == 1)
    }

    @Test func itemsThatArriveWhileTheSlotsAreTakenGoTogetherWhenOneFrees() {
        var queue = GroupCommitQueue<Int>(maximumInFlight: 1, maximumBatch: 8)
        _ = queue.enqueue(1)
        #expect(queue.enqueue(2) == nil)
        #expect(queue.enqueue(3) == nil)
        #expect(queue.batchFinished() == [2, 3])
        #expect(queue.inFlight == 1)
        #expect(queue.batchFinished() == nil)
        #expect(queue.inFlight == 0)
    }

    @Test func aBatchHoldsAtMostItsMaximumAndTheRestWaitsInOrder() {
        var queue = GroupCommitQueue<Int>(maximumInFlight: 1, maximumBatch: 3)
        _ = queue.enqueue(0)
        for i in 1...7 { #expect(queue.enqueue(i) == nil) }
        #expect(queue.batchFinished() == [1, 2, 3])
        #expect(queue.batchFinished() == [4, 5, 6])
        #expect(queue.batchFinished() == [7])
        #expect(queue.batchFinished() == nil)
        #expect(queue.waiting.isEmpty)
    }

    @Test func severalBatchesMayBeInFlightUpToTheMaximum() {
        var queue = GroupCommitQueue<Int>(maximumInFlight: 2, maximumBatch: 4)
        #expect(queue.enqueue(1) == [1])
        #expect(queue.enqueue(2) == [2])
        #expect(queue.enqueue(3) == nil)
        #expect(queue.inFlight == 2)
        #expect(queue.batchFinished() == [3])
        #expect(queue.inFlight == 2)
    }
}
