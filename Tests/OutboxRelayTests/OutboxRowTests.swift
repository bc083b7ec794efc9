import OutboxRelay
import Testing

@Suite("OutboxRow")
struct OutboxRowTests {
    @Test("a row's cursor carries its id and time_of_recording")
    func cursor() {
        let row = OutboxRow(id: .text("x"), payload: [], timeOfRecording: "2024-03-14 05:04:54.67614")
        #expect(row.cursor == OutboxCursor(timeOfRecording: "2024-03-14 05:04:54.67614", id: .text("x")))
        #expect(OutboxRow(id: .integer(5), payload: []).cursor == OutboxCursor(id: .integer(5)))
    }
}
