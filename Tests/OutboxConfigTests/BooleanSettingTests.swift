@testable import OutboxConfig
import Testing

@Suite("Yes/no settings")
struct BooleanSettingTests {
    @Test("The same words mean yes or no everywhere, in any case, around white space",
          arguments: [("true", true), ("Yes", true), (" on ", true), ("1", true),
                      ("FALSE", false), ("no", false), ("off\n", false), ("0\r\n", false)])
    func words(text: String, expected: Bool) {
        #expect(BooleanSetting.parse(text) == expected)
    }

    @Test("Anything else is no answer", arguments: ["", "maybe", "2", "tru"])
    func others(text: String) {
        #expect(BooleanSetting.parse(text) == nil)
    }
}
