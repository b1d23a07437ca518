import ArgumentParser
import OutboxCore
import OutboxStore
import OutboxSystem

/// Prints what an acting verb changed, and turns what it could not do into one stderr line each
/// and a sysexits status.
///
/// Exit status: 0 when every message was changed; 65 (EX_DATAERR) when an id is unknown or a
/// message was in a state the action does not apply to; otherwise 75 (EX_TEMPFAIL) when a
/// message was being sent (in flight): try again once the send finished.
enum AdminReport {
    /// `"3 messages"`, `"1 message"`.
    static func count(_ n: Int, _ noun: String = "message") -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

    static func finish(_ change: AdminChange, action: AdminAction, pastTense: String) throws {
        print("\(pastTense) \(count(change.changed.count))")
        var status: ExitStatus?
        if !change.inFlight.isEmpty {
            _ = ExitStatus.tempFail.fail(
                "\(count(change.inFlight.count)) in flight, not \(pastTense) (being sent right now; try again when the send finished): "
                    + change.inFlight.map(\.description).joined(separator: " "))
            status = .tempFail
        }
        if !change.unknown.isEmpty {
            _ = ExitStatus.dataError.fail(
                "no message with queue id " + change.unknown.map(\.description).joined(separator: ", "))
            status = .dataError
        }
        if !change.skipped.isEmpty {
            let states = action.applicableStates.map(\.rawValue).joined(separator: " or ")
            let list = change.skipped.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value.rawValue))" }
            _ = ExitStatus.dataError.fail(
                "\(count(change.skipped.count)) not \(pastTense): only \(states) messages can be: " + list.joined(separator: ", "))
            status = .dataError
        }
        if let status { throw ExitCode(status.rawValue) }
    }

    /// Resolves the selection, applies `action`, prints the report.
    static func perform(_ action: AdminAction, pastTense: String, global: GlobalOptions, selection: Selection,
                        confirm: ((Int) throws -> Void)? = nil) async throws {
        let store = try await global.openQueue(forWriting: true)
        let now = UnixTime.current
        let ids = try await selection.resolve(in: store, applicableStates: action.applicableStates, now: now)
        if let confirm, !ids.isEmpty { try confirm(ids.count) }
        let change: AdminChange
        do {
            change = try await store.apply(action, to: ids, now: UnixTime.current)
        } catch {
            throw queueFailure(error, path: store.path, action: "change")
        }
        try finish(change, action: action, pastTense: pastTense)
    }
}
