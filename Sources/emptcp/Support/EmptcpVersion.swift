/// The version `emptcp --version` prints; the one place it is written.
enum EmptcpVersion {
    static let string = "0.1.0"
}
