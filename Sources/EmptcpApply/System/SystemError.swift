import Glibc

/// A failed C call: the operation, the object it acted on and the errno text, printed as one line.
public struct SystemError: Error, CustomStringConvertible, Sendable, Equatable {
    public var operation: String
    public var object: String
    public var code: Int32

    public init(operation: String, object: String, code: Int32) {
        self.operation = operation
        self.object = object
        self.code = code
    }

    public var cause: String { String(cString: strerror(code)) }
    public var description: String { "\(operation) \(object): \(cause)" }
}
